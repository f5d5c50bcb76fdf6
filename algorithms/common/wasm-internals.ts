import { version_wasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * The releases of tfjs-backend-wasm whose private internals (`typedArrayFromHeap`, `makeOutput`,
 * `dataIdMap`) FusedAdam and the heap-reading Slice/SplitV (src/wasm-slice.ts) were written and
 * tested against. On any other release both stand aside and tfjs' own kernels run: slower, never
 * wrong. After an upgrade, run test/fused-adam.test.ts and test/wasm-slice.test.ts, then add it here.
 */
export const VERIFIED_WASM_RELEASES: readonly string[] = ['4.22.0'];

/** Whether the installed tfjs-backend-wasm (or `version`) is one the fast paths were verified on. */
export function wasmInternalsVerified(version: string = version_wasm): boolean {
  return VERIFIED_WASM_RELEASES.includes(version);
}
