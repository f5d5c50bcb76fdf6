import * as tf from '@tensorflow/tfjs';
import type { NamedTensor } from '../../core/algorithm';
import { NonFiniteError } from '../../core/errors';

/**
 * The optimizer's side of a gradient step, once for every algorithm: the step size, global-norm
 * clipping, the refusal of a step whose numbers are not finite, and the state a checkpoint keeps.
 */

/** Where a gradient step is, for the error that refuses it: the algorithm, and e.g. "update 3 (epoch 1, minibatch 2)". */
export interface StepPlace {
  algorithm: string;
  /** Called only when the step is refused. */
  where: () => string;
}

/**
 * Sets the step size of the optimizer's next `applyGradients` calls (tfjs reads the field at
 * each one; its typings leave it out).
 */
export function setLearningRate(optimizer: tf.AdamOptimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

/** `grads` (by variable name) scaled by min(1, maxNorm / globalNorm), as torch's clip_grad_norm_ does; and the global norm. */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): { clipped: tf.NamedTensorMap; norm: tf.Scalar } {
  const names = Object.keys(grads);
  const norm = tf.sqrt(tf.addN(names.map((k) => tf.sum(tf.square(grads[k]))))) as tf.Scalar;
  const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
  const clipped: tf.NamedTensorMap = {};
  for (const k of names) clipped[k] = tf.mul(grads[k], scale);
  return { clipped, norm };
}

/** One optimizer step on gradients by variable name. */
export function applyGradients(optimizer: tf.Optimizer, grads: tf.NamedTensorMap): void {
  // tfjs types the map as one of variables; it reads only the names and the gradient tensors.
  optimizer.applyGradients(grads as unknown as Parameters<tf.Optimizer['applyGradients']>[0]);
}

/**
 * Throws a NonFiniteError naming the first of `values` (a loss, a gradient norm, by name) that
 * is NaN or infinite. A step calls it between reading its numbers back and applying its
 * gradients, so that a refused step changes nothing, the optimizer's moments included.
 */
export function refuseNonFinite(place: StepPlace, values: Record<string, number>): void {
  for (const [quantity, value] of Object.entries(values)) {
    if (!Number.isFinite(value)) throw new NonFiniteError(place.algorithm, quantity, value, place.where());
  }
}

/**
 * An optimizer's state as named tensors for a checkpoint: its step count, then its moments,
 * in the order it made them (it matches them by position), under `<prefix>/NNN`. An
 * algorithm with several optimizers (SAC's actor, critic and temperature) gives each its own
 * prefix; the default `optimizer` is the layout of every checkpoint before them.
 */
export async function optimizerToState(optimizer: tf.Optimizer, prefix = 'optimizer'): Promise<NamedTensor[]> {
  const weights = await optimizer.getWeights();
  const saved = weights.map((w, i) => ({ name: `${prefix}/${String(i).padStart(3, '0')}`, shape: [...w.tensor.shape], data: Float32Array.from(w.tensor.dataSync()) }));
  weights[0]?.tensor.dispose(); // the step count is a fresh scalar; the moments are the optimizer's own variables
  const acc = adamPowers(optimizer);
  if (acc) saved.push({ name: adamPowersName(prefix), shape: [2], data: Float32Array.of(acc[0].dataSync()[0], acc[1].dataSync()[0]) });
  return saved;
}

/** Restores what `optimizerToState` saved under `prefix` (nothing, if the state holds no `<prefix>/` tensors). */
export async function optimizerFromState(optimizer: tf.Optimizer, tensors: NamedTensor[], prefix = 'optimizer'): Promise<void> {
  const saved = tensors.filter((t) => t.name.startsWith(`${prefix}/`));
  if (saved.length === 0) return;
  const values = saved.map((t, i) => ({ name: i === 0 ? 'iter' : t.name, tensor: tf.tensor(t.data, t.shape) }));
  await optimizer.setWeights(values);
  tf.dispose(values.map((v) => v.tensor));
  const powers = tensors.find((t) => t.name === adamPowersName(prefix));
  const acc = adamPowers(optimizer);
  if (powers && acc) tf.tidy(() => acc.forEach((v, i) => v.assign(tf.scalar(powers.data[i]))));
}

/**
 * Adam's running beta1^t and beta2^t. tfjs' `setWeights` recomputes them as pow(beta, t + 1),
 * which differs in the last bits from the product it keeps while training: saved as they are,
 * a resumed run's next step is bit-identical (found by the conformance suite's resume check).
 * Checkpoints without them resume with tfjs' recomputed powers.
 */
const ADAM_POWERS = 'adam/betaPowers';

/** Where the powers of the optimizer saved under `prefix` go: `adam/betaPowers` for the default one, `adam/<prefix>/betaPowers` for others. */
function adamPowersName(prefix: string): string {
  return prefix === 'optimizer' ? ADAM_POWERS : `adam/${prefix}/betaPowers`;
}

function adamPowers(optimizer: tf.Optimizer): [tf.Variable, tf.Variable] | undefined {
  const o = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  return o.accBeta1 instanceof tf.Variable && o.accBeta2 instanceof tf.Variable ? [o.accBeta1, o.accBeta2] : undefined;
}
