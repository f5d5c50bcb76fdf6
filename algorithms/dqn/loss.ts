import * as tf from '@tensorflow/tfjs';

/**
 * DQN's loss on a sampled minibatch (Mnih et al., 2015; double Q: van Hasselt et al., 2016),
 * named as CleanRL's dqn.py names it:
 *
 *   target   = r + discount * Q_target(s', a'),  a' = argmax Q_target(s', .)
 *                                                (double Q: argmax Q_online(s', .))
 *   tdError  = Q(s, a) - target                  (no gradient flows into the target)
 *   loss     = mean(w * huber(tdError)),  huber(x) = 0.5 x^2 for |x| <= delta, else delta (|x| - delta / 2)
 *   priority = |tdError| + eps                   (prioritized replay: `ReplayBuffer.updatePriorities`)
 *
 * with w the importance weights of prioritized replay (all 1 without it). Stated side by side:
 * `huberLoss` in tfjs ops for the tape (the conv path, and the reference), `huberLossGradient`
 * its derivative by Q(s, a) written out (the MLP path), `dqnLossMetrics` the logged numbers.
 */

/**
 * TD targets r + discount * Q'(s', a'), where a' is the target network's best action, or with
 * `qNextOnline` (double DQN) the online network's best action, valued by the target network.
 */
export function qTargets(rewards: tf.Tensor1D, discounts: tf.Tensor1D, qNextTarget: tf.Tensor2D, qNextOnline: tf.Tensor | null): tf.Tensor1D {
  const nextQ = qNextOnline ? tf.sum(tf.mul(qNextTarget, tf.oneHot(tf.argMax(qNextOnline, 1), qNextTarget.shape[1])), 1) : tf.max(qNextTarget, 1);
  return tf.add(rewards, tf.mul(discounts, nextQ));
}

/**
 * Q(s, a) [B] of the one-hot `actions` [B, A], and the TD errors [B] against `targets`; `q`
 * holds the online network's Q-values of the B observations.
 */
export function tdErrors(q: tf.Tensor2D, actions: tf.Tensor2D, targets: tf.Tensor1D): { qsa: tf.Tensor1D; td: tf.Tensor1D } {
  const qsa = tf.sum(tf.mul(q, actions), 1) as tf.Tensor1D;
  return { qsa, td: tf.sub(qsa, targets) as tf.Tensor1D };
}

/** mean(w * huber(td)) in tfjs ops, for the tape; `weights` null: all 1. */
export function huberLoss(td: tf.Tensor, weights: tf.Tensor | null, delta: number): tf.Scalar {
  const abs = tf.abs(td);
  const c = tf.minimum(abs, delta);
  const huber = tf.add(tf.mul(0.5, tf.square(c)), tf.mul(delta, tf.sub(abs, c)));
  return tf.mean(weights ? tf.mul(weights, huber) : huber) as tf.Scalar;
}

/** d huberLoss / d Q(s, a) [B], written out: w * clip(td, -delta, delta) / B (nothing flows into the targets). */
export function huberLossGradient(td: tf.Tensor, weights: tf.Tensor | null, delta: number): tf.Tensor1D {
  const dqsa = tf.mul(tf.clipByValue(td, -delta, delta), 1 / td.shape[0]!);
  return (weights ? tf.mul(dqsa, weights) : dqsa) as tf.Tensor1D;
}

/** What a gradient step logs, by the names it is logged under: the loss, mean Q(s, a) and mean |tdError|. */
export interface DqnLossMetrics {
  loss: number;
  qMean: number;
  tdError: number;
}

/** The metrics of one minibatch from its rows: Q(s, a), the TD errors and the importance weights, [B] each. */
export function dqnLossMetrics(qsa: Float32Array, td: Float32Array, weights: Float32Array, delta: number): DqnLossMetrics {
  const B = td.length;
  let loss = 0;
  let qSum = 0;
  let tdAbs = 0;
  for (let j = 0; j < B; j++) {
    const a = Math.abs(td[j]);
    const c = Math.min(a, delta);
    loss += weights[j] * (0.5 * c * c + delta * (a - c));
    qSum += qsa[j];
    tdAbs += a;
  }
  return { loss: loss / B, qMean: qSum / B, tdError: tdAbs / B };
}
