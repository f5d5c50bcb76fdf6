import * as tf from '@tensorflow/tfjs';
import { registerWasmSlice } from './wasm-slice';

export type BackendName = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** The order `auto` tries backends in: native libtensorflow (GPU, then CPU), wasm, plain JS. */
const AUTO_ORDER: Exclude<BackendName, 'auto'>[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/**
 * Selects the tfjs backend and returns its name. `tensorflow-gpu` and `tensorflow` need
 * `@tensorflow/tfjs-node-gpu` / `@tensorflow/tfjs-node`, whose install downloads
 * libtensorflow from outside npm; where they are absent, `auto` moves on and an explicit
 * request fails with the reason.
 */
export async function selectBackend(name: BackendName): Promise<{ backend: string; tried: string[] }> {
  const tried: string[] = [];
  for (const candidate of name === 'auto' ? AUTO_ORDER : [name]) {
    const why = await tryBackend(candidate);
    if (why === undefined) {
      // Skips tfjs' debug-time checks on every op: ~7% of a PPO step on wasm.
      tf.enableProdMode();
      return { backend: candidate, tried };
    }
    tried.push(`${candidate}: ${why}`);
  }
  throw new Error(`no tfjs backend could start: ${tried.join('; ')}`);
}

/** Undefined when `name` is now the active backend, else why not. */
async function tryBackend(name: Exclude<BackendName, 'auto'>): Promise<string | undefined> {
  try {
    if (name === 'tensorflow-gpu' || name === 'tensorflow') {
      const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      try {
        require(pkg);
      } catch (err) {
        return `${pkg} is not installed (${firstLine(err)})`;
      }
      // Both packages register their backend under the name 'tensorflow'.
      if (!(await tf.setBackend('tensorflow'))) return 'the backend did not initialise';
      if (name === 'tensorflow-gpu' && !(tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice) {
        return 'libtensorflow found no GPU';
      }
      return undefined;
    }
    if (name === 'wasm') require('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend(name))) return 'the backend did not initialise';
    await tf.ready();
    if (name === 'wasm') registerWasmSlice();
    return undefined;
  } catch (err) {
    return firstLine(err);
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}
