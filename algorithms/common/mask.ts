import * as tf from '@tensorflow/tfjs';

/**
 * Action masks (1 legal, 0 illegal), as the algorithms apply them: in the loss, as tensors
 * whose illegal entries are replaced by a number no legal one comes near (`masked`); when
 * acting, as plain loops over the legal actions (`greedyAction`, `nthLegal`). Huang et al.
 * 2022 ("A Closer Look at Invalid Action Masking in Policy Gradient Algorithms") and
 * sb3-contrib's MaskableCategorical replace masked logits the same way.
 */

/**
 * What an illegal action's logit (or Q-value) becomes: so far below any legal one that its exp
 * underflows to exactly 0 in float32 (probability 0, the softmax renormalised over the legal
 * actions) and no max or argmax picks it. Finite rather than -Infinity: 0 * -1e8 is 0 in an
 * entropy's sum of p log p, in a discounted target and in every gradient, where 0 * -Infinity
 * would be NaN.
 */
export const MASKED_VALUE = -1e8;

/**
 * `x` [B, n] with each illegal entry set to exactly `MASKED_VALUE`: x * mask + (1 - mask) *
 * MASKED_VALUE, `mask` [B, n] of 1 and 0 (float32). No gradient reaches an illegal entry; a
 * legal one is kept bit for bit. Without a mask, `x` itself.
 */
export function masked(x: tf.Tensor, mask: tf.Tensor | null | undefined): tf.Tensor {
  if (!mask) return x;
  return tf.add(tf.mul(x, mask), tf.mul(tf.sub(1, mask), MASKED_VALUE));
}

/** The first action of the highest value in `values[at .. at + n)`, among the legal ones when `mask` (n bytes, 1 legal) is given. */
export function greedyAction(values: ArrayLike<number>, at: number, n: number, mask: ArrayLike<number> | null): number {
  let best = -1;
  for (let a = 0; a < n; a++) if ((!mask || mask[a] === 1) && (best < 0 || values[at + a] > values[at + best])) best = a;
  return best;
}

/** How many actions `mask` allows. */
export function countLegal(mask: ArrayLike<number>): number {
  let n = 0;
  for (let a = 0; a < mask.length; a++) n += mask[a] === 1 ? 1 : 0;
  return n;
}

/** The index of the k-th (0-based) legal action of `mask`. */
export function nthLegal(mask: ArrayLike<number>, k: number): number {
  let left = k;
  for (let a = 0; a < mask.length; a++) if (mask[a] === 1 && left-- === 0) return a;
  throw new RangeError(`nthLegal: the mask allows fewer than ${k + 1} actions`);
}
