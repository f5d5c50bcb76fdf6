import * as tf from '@tensorflow/tfjs';
import { wasmInternalsVerified } from '../algorithms/common/wasm-internals';

/**
 * tfjs-backend-wasm 4.22's Slice kernel (and SplitV, which slices part by part) first copies
 * its WHOLE input out of the wasm heap (`readSync`), then the part it wants: cutting a model's
 * 148,805 parameters into its 10 named tensors (FlatParams.unpack, once per gradient step)
 * took 3.9-8 ms, a tenth to a fifth of a Snake PPO step; 0.35 ms for a 432-float slice. These
 * replacements read the input where it lies in the heap (the same numbers: a copy either way),
 * taking the views after the output is allocated, which may grow and move the heap.
 */

type WasmBackend = {
  makeOutput(shape: number[], dtype: tf.DataType): { dataId: object; shape: number[]; dtype: tf.DataType };
  typedArrayFromHeap(t: { dataId: object; shape: number[]; dtype: tf.DataType }): Float32Array | Int32Array | Uint8Array;
};
type Info = { dataId: object; shape: number[]; dtype: tf.DataType };

let registered = false;

/** Whether the heap-reading kernels are in place (`registerWasmSlice` ran on a verified release). */
export function wasmSliceRegistered(): boolean {
  return registered;
}

/** Puts the heap-reading Slice and SplitV in place of wasm's own; once, after the wasm backend is set, and only on a verified tfjs-backend-wasm release. */
export function registerWasmSlice(): void {
  if (registered || !wasmInternalsVerified()) return;
  const original = tf.getKernel('Slice', 'wasm');
  if (!original || !tf.getKernel('SplitV', 'wasm')) return;
  const fallback = original.kernelFunc;
  const slice = (args: { inputs: { x: Info }; attrs: { begin: number | number[]; size?: number | number[] }; backend: WasmBackend }) => {
    const { inputs: { x }, attrs, backend } = args;
    if (x.dtype === 'string') return fallback(args as unknown as Parameters<typeof fallback>[0]);
    const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.TensorInfo, attrs.begin, attrs.size);
    return copySlice(backend, x, begin, size);
  };
  const splitV = (args: { inputs: { x: Info }; attrs: { numOrSizeSplits: number | number[]; axis: number }; backend: WasmBackend }) => {
    const { inputs: { x }, attrs, backend } = args;
    if (x.dtype === 'string') return (tf.getKernel('SplitV', 'cpu') ?? original).kernelFunc(args as never);
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, attrs.numOrSizeSplits, axis);
    const begin = x.shape.map(() => 0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[axis] = s;
      const part = copySlice(backend, x, [...begin], size);
      begin[axis] += s;
      return part;
    });
  };
  for (const [kernelName, kernelFunc] of [['Slice', slice], ['SplitV', splitV]] as const) {
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  registered = true;
}

/** The block of `x` at `begin` of `size`, copied row (last axis) by row within the heap. */
function copySlice(backend: WasmBackend, x: Info, begin: number[], size: number[]): Info {
  const out = backend.makeOutput(size, x.dtype);
  const n = size.reduce((a, b) => a * b, 1);
  if (n === 0) return out;
  const xv = backend.typedArrayFromHeap(x); // after makeOutput: the heap may have moved
  const ov = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = tf.util.computeStrides(x.shape);
  if (rank === 0 || tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const at = rank === 0 ? 0 : tf.slice_util.computeFlatOffset(begin, strides);
    ov.set(xv.subarray(at, at + n));
    return out;
  }
  const row = size[rank - 1];
  const index = new Array<number>(rank - 1).fill(0); // position among the rows, odometer-wise
  for (let o = 0; o < n; o += row) {
    let at = begin[rank - 1];
    for (let d = 0; d < rank - 1; d++) at += (begin[d] + index[d]) * strides[d];
    ov.set(xv.subarray(at, at + row), o);
    for (let d = rank - 2; d >= 0 && ++index[d] === size[d]; d--) index[d] = 0;
  }
  return out;
}
