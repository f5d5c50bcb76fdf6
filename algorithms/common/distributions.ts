import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../core/rng';
import { masked } from './mask';
import { activate } from './mlp';

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

/**
 * A diagonal Gaussian squashed by tanh, with a state-dependent log-std (SAC; SB3's
 * `SquashedDiagGaussianDistribution`): u ~ N(mean, std^2), a = tanh(u) in (-1, 1)^d, and by
 * the change of variables
 *
 *   log pi(a | s) = sum_j [ log N(u_j; mean_j, std_j) - log(1 - tanh(u_j)^2) ],
 *
 * the correction written log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), finite for
 * every u (no epsilon added). The network's raw log-std output r becomes
 * LOG_STD_MIN + (LOG_STD_MAX - LOG_STD_MIN) (tanh(r) + 1) / 2, a smooth bound (SpinUp's and
 * CleanRL's) where a clip would stop its gradient. A worker records u, unsquashed; the env
 * gets tanh(u) scaled to its bounds (`boxActions: 'squash'`).
 */
export const squashedGaussian = {
  LOG_STD_MIN: -5,
  LOG_STD_MAX: 2,

  /** The raw log-std output [B, d] as a log-std in [LOG_STD_MIN, LOG_STD_MAX]. */
  logStd(raw: tf.Tensor): tf.Tensor {
    const { LOG_STD_MIN: lo, LOG_STD_MAX: hi } = squashedGaussian;
    return tf.add(lo, tf.mul(0.5 * (hi - lo), tf.add(activate(raw, 'tanh'), 1)));
  },

  /** The raw output that gives the log-std `logStd` (strictly inside the bounds): its inverse, for initialising a bias. */
  rawOf(logStd: number): number {
    const { LOG_STD_MIN: lo, LOG_STD_MAX: hi } = squashedGaussian;
    return Math.atanh((2 * (logStd - lo)) / (hi - lo) - 1);
  },

  /**
   * A reparameterised sample (u = mean + std * noise, gradients flowing through mean and
   * logStd): the squashed action tanh(u) [B, d] and its log-probability [B]. With u so made,
   * (u - mean) / std is the noise itself: log N(u) = -noise^2 / 2 - logStd - log(2 pi) / 2.
   */
  rsample(mean: tf.Tensor, logStd: tf.Tensor, noise: tf.Tensor): { action: tf.Tensor; logProb: tf.Tensor } {
    const u = tf.add(mean, tf.mul(tf.exp(logStd), noise));
    const gaussian = tf.sub(tf.mul(tf.square(noise), -0.5), tf.add(logStd, 0.5 * LOG_2PI));
    const logDet = tf.mul(2, tf.sub(tf.sub(Math.LN2, u), tf.softplus(tf.mul(u, -2)))); // log(1 - tanh(u)^2)
    return { action: activate(u, 'tanh'), logProb: tf.sum(tf.sub(gaussian, logDet), -1) };
  },

  /**
   * u = mean + std * noise for each row of `out` [rows * 2d] (the d means, then the d raw
   * log-stds) and standard normal `noise` [rows * d]; with `noise` null, the mean
   * (deterministic). Writes u, unsquashed, to `actions` [rows * d].
   */
  sample(out: Float32Array, d: number, noise: Float32Array | null, actions: Float32Array): void {
    const { LOG_STD_MIN: lo, LOG_STD_MAX: hi } = squashedGaussian;
    const rows = out.length / (2 * d);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < d; j++) {
        const mean = out[r * 2 * d + j];
        if (!noise) {
          actions[r * d + j] = mean;
          continue;
        }
        const logStd = lo + 0.5 * (hi - lo) * (Math.tanh(out[r * 2 * d + d + j]) + 1);
        actions[r * d + j] = mean + Math.exp(logStd) * noise[r * d + j];
      }
    }
  },
};
