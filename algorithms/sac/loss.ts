import * as tf from '@tensorflow/tfjs';
import type { LossOutput } from '../common/gradient-step';
import type { SquashedGaussianActor, TwinCritic } from './networks';

/**
 * SAC's three losses on a sampled minibatch (Haarnoja et al. 2018, "Soft Actor-Critic
 * Algorithms and Applications": J_Q and J_pi of section 4, J(alpha) of section 5), named as
 * CleanRL's sac_continuous_action.py names them:
 *
 *   a', logp'  = pi(s', noise')                       a reparameterised sample of the next state
 *   qTarget    = r + discount * (min(Q1'(s', a'), Q2'(s', a')) - alpha * logp')
 *                                                     Q1', Q2' the target networks; no gradient
 *   qfLoss     = mean((Q1(s, a) - qTarget)^2) / 2 + mean((Q2(s, a) - qTarget)^2) / 2
 *   a~, logp~  = pi(s, noise)                         gradients flow through a~ into the actor
 *   actorLoss  = mean(alpha * logp~ - min(Q1(s, a~), Q2(s, a~)))
 *   alphaLoss  = -log(alpha) * (mean(logp~) + targetEntropy)    logp~ held fixed
 *
 * with discount = gamma, or 0 where the episode terminated, and a the replayed action squashed
 * (tanh of what the worker recorded). The temperature's loss is the paper's J(alpha) =
 * E[-alpha (log pi + targetEntropy)] taken in log(alpha), as SB3 does: its gradient,
 * -(mean(logp~) + targetEntropy), raises alpha while the entropy -mean(logp~) is below the
 * target and lowers it above.
 */

/** A sampled minibatch as tensors: observations [B, obsSize], the squashed actions taken [B, A], the TD targets [B], and the actor's noise [B, A]. */
export interface SacBatch {
  obs: tf.Tensor2D;
  actions: tf.Tensor2D;
  qTarget: tf.Tensor1D;
  noise: tf.Tensor2D;
}

/** The metrics of the three steps, by the names they are logged under. */
export type CriticMetric = 'criticLoss' | 'qMean';
export type ActorMetric = 'actorLoss' | 'entropy';
export type AlphaMetric = 'alphaLoss';

/** The soft TD targets r + discount * (min of the target Q-values of a fresh next action - alpha * its log-probability) [B]. */
export function softQTargets(
  nets: { actor: SquashedGaussianActor; actorP: Record<string, tf.Tensor>; target: TwinCritic; targetP: Record<string, tf.Tensor> },
  next: { obs: tf.Tensor2D; noise: tf.Tensor2D; rewards: tf.Tensor1D; discounts: tf.Tensor1D },
  alpha: number,
): tf.Tensor1D {
  const { action, logProb } = nets.actor.sample(nets.actorP, next.obs, next.noise, true);
  const [q1, q2] = nets.target.forward(nets.targetP, next.obs, action, 'infer');
  const soft = tf.sub(tf.minimum(q1, q2), tf.mul(alpha, logProb));
  return tf.add(next.rewards, tf.mul(next.discounts, soft)) as tf.Tensor1D;
}

/** qfLoss of the critic's parameters `p`; qMean is the mean of Q1(s, a). */
export function criticLoss(critic: TwinCritic, p: Record<string, tf.Tensor>, mb: SacBatch): LossOutput<CriticMetric> {
  const [q1, q2] = critic.forward(p, mb.obs, mb.actions);
  const loss = tf.add(tf.mul(0.5, tf.mean(tf.squaredDifference(q1, mb.qTarget))), tf.mul(0.5, tf.mean(tf.squaredDifference(q2, mb.qTarget)))) as tf.Scalar;
  return { loss, metrics: { criticLoss: loss, qMean: tf.mean(q1) as tf.Scalar } };
}

/** actorLoss of the actor's parameters `p`, the critic held at `criticP`; entropy is -mean(logp~), the estimate alphaLoss reads. */
export function actorLoss(actor: SquashedGaussianActor, p: Record<string, tf.Tensor>, critic: TwinCritic, criticP: Record<string, tf.Tensor>, mb: SacBatch, alpha: number): LossOutput<ActorMetric> {
  const { action, logProb } = actor.sample(p, mb.obs, mb.noise);
  const [q1, q2] = critic.forward(criticP, mb.obs, action, 'frozen');
  const loss = tf.mean(tf.sub(tf.mul(alpha, logProb), tf.minimum(q1, q2))) as tf.Scalar;
  return { loss, metrics: { actorLoss: loss, entropy: tf.neg(tf.mean(logProb)) as tf.Scalar } };
}

/** alphaLoss of log(alpha) (`logAlpha`, [1]), given the actor step's entropy estimate -mean(logp~). */
export function alphaLoss(logAlpha: tf.Tensor, entropy: number, targetEntropy: number): LossOutput<AlphaMetric> {
  const loss = tf.mul(tf.sum(logAlpha), entropy - targetEntropy) as tf.Scalar; // -log(alpha) (mean(logp~) + targetEntropy)
  return { loss, metrics: { alphaLoss: loss } };
}
