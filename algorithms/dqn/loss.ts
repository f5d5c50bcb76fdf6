import * as tf from '@tensorflow/tfjs';
import type { LossOutput } from '../common/gradient-step';
import { masked } from '../common/mask';
import type { DqnConfig } from './config';
import type { QNetwork } from './q-network';

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
 * with w the importance weights of prioritized replay (all 1 without it). Stated once, in tfjs
 * ops: `dqnLoss` (parameters, minibatch) -> loss, metrics and TD errors, which the tape
 * differentiates (the default path). `huberLossGradient` is its derivative by Q(s, a) written
 * out, for the opt-in fast path (`gradientPath: writtenOut`), which evaluates `dqnObjective`,
 * the same loss from the Q-values, for its metrics; a test holds the two paths' gradients to
 * each other.
 */

/**
 * A sampled minibatch as tensors: `obs` the B observations [B, obsSize], followed (double Q)
 * by the B next observations, which the online network values in the same forward pass;
 * `actions` one-hot [B, A]; `qNextTarget` the target network's Q-values of the next
 * observations [B, A]; `weights` the importance weights [B] (null: uniform replay, all 1);
 * `nextMask` the next observations' action masks [B, A] (1 legal; absent or null: all legal).
 */
export interface DqnBatch {
  obs: tf.Tensor2D;
  actions: tf.Tensor2D;
  rewards: tf.Tensor1D;
  discounts: tf.Tensor1D;
  qNextTarget: tf.Tensor2D;
  weights: tf.Tensor1D | null;
  nextMask?: tf.Tensor2D | null;
}

/** The loss's settings. */
export type DqnLossConfig = Pick<DqnConfig, 'doubleQ' | 'huberDelta'>;

/** What a gradient step logs, by the names it is logged under: the loss, mean Q(s, a) and mean |tdError|. */
export type DqnMetric = 'loss' | 'qMean' | 'tdError';
export type DqnLossMetrics = Record<DqnMetric, number>;

/** The loss, stated once: of the parameters `p` of the online network `net`, on the minibatch `mb`; with the TD errors per row (`td`, for the priorities). */
export function dqnLoss(net: QNetwork, p: Record<string, tf.Tensor>, mb: DqnBatch, cfg: DqnLossConfig): LossOutput<DqnMetric, 'td'> {
  return dqnObjective(net.forward(p, mb.obs), mb, cfg);
}

/** The loss from the online network's Q-values `qAll` of `mb.obs` (argmax passes no gradient into the targets). */
export function dqnObjective(qAll: tf.Tensor2D, mb: DqnBatch, cfg: DqnLossConfig): LossOutput<DqnMetric, 'td'> {
  const [B, A] = mb.actions.shape;
  const q = cfg.doubleQ ? tf.slice(qAll, [0, 0], [B, A]) : qAll;
  const qNextOnline = cfg.doubleQ ? tf.slice(qAll, [B, 0], [B, A]) : null;
  const { qsa, td } = tdErrors(q, mb.actions, qTargets(mb.rewards, mb.discounts, mb.qNextTarget, qNextOnline, mb.nextMask ?? null));
  const loss = huberLoss(td, mb.weights, cfg.huberDelta);
  return { loss, metrics: { loss, qMean: tf.mean(qsa) as tf.Scalar, tdError: tf.mean(tf.abs(td)) as tf.Scalar }, rows: { td } };
}

/**
 * TD targets r + discount * Q'(s', a'), where a' is the target network's best action, or with
 * `qNextOnline` (double DQN) the online network's best action, valued by the target network.
 * With `nextMask` [B, A] (the action masks of s'), a' is the best legal action: an illegal
 * action's Q-value never enters a target.
 */
export function qTargets(rewards: tf.Tensor1D, discounts: tf.Tensor1D, qNextTarget: tf.Tensor2D, qNextOnline: tf.Tensor | null, nextMask: tf.Tensor | null = null): tf.Tensor1D {
  const nextQ = qNextOnline ? tf.sum(tf.mul(qNextTarget, tf.oneHot(tf.argMax(masked(qNextOnline, nextMask), 1), qNextTarget.shape[1])), 1) : tf.max(masked(qNextTarget, nextMask), 1);
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
