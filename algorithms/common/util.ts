import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../core/rng';
import type { NamedTensor } from '../../core/algorithm';

/** The arrays end to end. */
export function concatFloat32(arrays: Float32Array[]): Float32Array {
  if (arrays.length === 1) return arrays[0];
  const out = new Float32Array(arrays.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

/** A random permutation of 0 .. n-1 (Fisher-Yates). */
export function shuffle(n: number, rng: Rng): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/** Scales every gradient by min(1, maxNorm / globalNorm), as torch's clip_grad_norm_ does. */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): tf.NamedTensorMap {
  return tf.tidy(() => {
    const names = Object.keys(grads);
    const norm = tf.sqrt(tf.addN(names.map((k) => tf.sum(tf.square(grads[k])))));
    const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
    const out: tf.NamedTensorMap = {};
    for (const k of names) out[k] = tf.mul(grads[k], scale);
    return out;
  });
}

/** 1 - Var(returns - values) / Var(returns): how much of the return the value function explains. */
export function explainedVariance(values: Float32Array, returns: Float32Array): number {
  const n = returns.length;
  let meanR = 0;
  let meanD = 0;
  for (let i = 0; i < n; i++) {
    meanR += returns[i];
    meanD += returns[i] - values[i];
  }
  meanR /= n;
  meanD /= n;
  let varR = 0;
  let varD = 0;
  for (let i = 0; i < n; i++) {
    varR += (returns[i] - meanR) ** 2;
    varD += (returns[i] - values[i] - meanD) ** 2;
  }
  return varR === 0 ? NaN : 1 - varD / varR;
}

/**
 * An optimizer's state as named tensors for a checkpoint: its step count, then its moments,
 * in the order it made them (it matches them by position), under `optimizer/NNN`.
 */
export async function optimizerToState(optimizer: tf.Optimizer): Promise<NamedTensor[]> {
  const weights = await optimizer.getWeights();
  const saved = weights.map((w, i) => ({ name: `optimizer/${String(i).padStart(3, '0')}`, shape: [...w.tensor.shape], data: Float32Array.from(w.tensor.dataSync()) }));
  weights[0]?.tensor.dispose(); // the step count is a fresh scalar; the moments are the optimizer's own variables
  return saved;
}

/** Restores what `optimizerToState` saved (nothing, if the state holds no `optimizer/` tensors). */
export async function optimizerFromState(optimizer: tf.Optimizer, tensors: NamedTensor[]): Promise<void> {
  const saved = tensors.filter((t) => t.name.startsWith('optimizer/'));
  if (saved.length === 0) return;
  const values = saved.map((t, i) => ({ name: i === 0 ? 'iter' : t.name, tensor: tf.tensor(t.data, t.shape) }));
  await optimizer.setWeights(values);
  tf.dispose(values.map((v) => v.tensor));
}
