import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../core/rng';
import { masked } from './mask';

/**
 * Action distributions, each in two halves: tfjs functions for the loss (differentiable,
 * and only ops whose gradients run on wasm: a one-hot product instead of gather), and plain
 * JS sampling from the numbers a forward pass returned, with the worker's seeded generator.
 */

const LOG_2PI = Math.log(2 * Math.PI);

/** Categorical over `n` actions, parameterised by logits; with an action mask, over the legal actions only. */
export const categorical = {
  /**
   * log pi(a | s) of one-hot encoded actions, and the entropy; logits [B, n], oneHot [B, n] -> [B], [B].
   * With `mask` [B, n]: both of the distribution over the legal actions (an illegal action's
   * probability is exactly 0, so it adds nothing to the entropy).
   */
  evaluate(logits: tf.Tensor, oneHot: tf.Tensor, mask?: tf.Tensor | null): { logProb: tf.Tensor; entropy: tf.Tensor } {
    const logp = tf.logSoftmax(masked(logits, mask)); // an illegal action's logit: MASKED_VALUE, its probability exactly 0
    return { logProb: tf.sum(tf.mul(logp, oneHot), -1), entropy: tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1)) };
  },

  /**
   * Samples (or takes the argmax of) each row of `logits` [numRows * n]; writes actions and
   * their log-probs. With `mask` [numRows * n] (1 legal): among the legal actions only, the
   * log-prob renormalised over them, as `evaluate` gives it with the same mask.
   */
  sample(logits: Float32Array, n: number, rng: Rng, deterministic: boolean, actions: Float32Array, logp: Float32Array, mask: Uint8Array | null = null): void {
    const rows = logits.length / n;
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      let max = -Infinity;
      let best = 0;
      let last = n - 1;
      for (let i = 0; i < n; i++) {
        if (mask !== null && mask[o + i] !== 1) continue; // illegal: probability 0
        last = i;
        if (logits[o + i] > max) {
          max = logits[o + i];
          best = i;
        }
      }
      let total = 0;
      for (let i = 0; i < n; i++) if (mask === null || mask[o + i] === 1) total += Math.exp(logits[o + i] - max);
      let choice = best;
      if (!deterministic) {
        let u = rng.random() * total;
        choice = last;
        for (let i = 0; i < n; i++) {
          if (mask !== null && mask[o + i] !== 1) continue;
          u -= Math.exp(logits[o + i] - max);
          if (u < 0) {
            choice = i;
            break;
          }
        }
      }
      actions[r] = choice;
      logp[r] = logits[o + choice] - max - Math.log(total);
    }
  },
};

/** Diagonal Gaussian with a state-independent log standard deviation. */
export const diagGaussian = {
  /** mean [B, d], logStd [d], actions [B, d] -> [B] */
  logProb(mean: tf.Tensor, logStd: tf.Tensor, actions: tf.Tensor): tf.Tensor {
    const z = tf.div(tf.sub(actions, mean), tf.exp(logStd));
    return tf.sum(tf.sub(tf.mul(tf.square(z), -0.5), tf.add(logStd, 0.5 * LOG_2PI)), -1);
  },

  /** Entropy of one row (the same for every row): [] */
  entropy(logStd: tf.Tensor): tf.Tensor {
    return tf.sum(tf.add(logStd, 0.5 * (1 + LOG_2PI)));
  },

  sample(mean: Float32Array, logStd: Float32Array, rng: Rng, deterministic: boolean, actions: Float32Array, logp: Float32Array): void {
    const d = logStd.length;
    const rows = mean.length / d;
    let logNorm = 0;
    for (let j = 0; j < d; j++) logNorm += logStd[j] + 0.5 * LOG_2PI;
    for (let r = 0; r < rows; r++) {
      let sq = 0;
      for (let j = 0; j < d; j++) {
        const z = deterministic ? 0 : rng.normal();
        actions[r * d + j] = mean[r * d + j] + Math.exp(logStd[j]) * z;
        sq += z * z;
      }
      logp[r] = -0.5 * sq - logNorm;
    }
  },
};
