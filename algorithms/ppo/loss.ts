import * as tf from '@tensorflow/tfjs';
import { diagGaussian } from '../common/distributions';
import type { LossOutput } from '../common/gradient-step';
import type { ActorCritic } from './actor-critic';
import type { PpoConfig } from './config';

/**
 * PPO's loss on one minibatch (Schulman et al., 2017), named as CleanRL's ppo.py names it:
 *
 *   ratio       = exp(logProb - oldLogp)
 *   pgLoss      = mean(max(-A ratio, -A clip(ratio, 1 - clipRange, 1 + clipRange)))
 *   vLoss       = 0.5 mean((V - R)^2), or with clipRangeVf
 *                 0.5 mean(max((V - R)^2, (oldV + clip(V - oldV, -clipRangeVf, clipRangeVf) - R)^2))
 *   entropyLoss = mean(H)
 *   loss        = pgLoss - entCoef entropyLoss + vfCoef vLoss
 *
 * stated once, in tfjs ops: `ppoLoss` (parameters, minibatch) -> loss and metrics, which the
 * tape differentiates (the default path). `ppoLossGradient` is its derivative by the network's
 * outputs written out, for the opt-in fast path (`gradientPath: writtenOut`), which evaluates
 * `ppoObjective`, the same loss from the outputs, for its metrics; a test holds the two paths'
 * gradients to each other.
 */

/** The loss's settings. */
export type PpoLossConfig = Pick<PpoConfig, 'clipRange' | 'clipRangeVf' | 'entCoef' | 'vfCoef'>;

/** What the loss knows of each row besides the network's outputs, [B] each. */
export interface PpoLossTargets {
  advantages: tf.Tensor;
  oldLogp: tf.Tensor;
  oldValues: tf.Tensor;
  returns: tf.Tensor;
  /** Each row's weight [B]: 1, or 0 for a padding row of a recurrent minibatch; absent or null: every row 1. Each mean is over the weighted rows. */
  weights?: tf.Tensor | null;
}

/**
 * A minibatch as tensors: `obs` [B, obsSize], `actions` [B, actionSize] one-hot (Discrete) or
 * raw (Box), the targets [B]; `mask` [B, n] the action masks (1 legal), absent or null: all legal.
 */
export interface PpoBatch extends PpoLossTargets {
  obs: tf.Tensor;
  actions: tf.Tensor;
  mask?: tf.Tensor | null;
  /** A recurrent network's minibatch: time-major sequences of `sequenceLength` steps, from `state` at their starts ([S, size] each), reset to zeros where `resets` [B] is 1. */
  sequences?: { state: tf.Tensor[]; sequenceLength: number; resets: Uint8Array } | null;
}

/**
 * What `update()` logs of a minibatch, by the names it logs them under: policyLoss (pgLoss),
 * valueLoss (vLoss), entropy (entropyLoss), approxKl (the "k3" estimator mean((r - 1) - log r),
 * as CleanRL's approx_kl) and clipFraction (the share of rows with |r - 1| > clipRange).
 */
export type PpoMetric = 'policyLoss' | 'valueLoss' | 'entropy' | 'approxKl' | 'clipFraction';
export type PpoLossMetrics = Record<PpoMetric, number>;

/** The loss, stated once: of the parameters `p` of `net`, on the minibatch `mb`. */
export function ppoLoss(net: ActorCritic, p: Record<string, tf.Tensor>, mb: PpoBatch, cfg: PpoLossConfig): LossOutput<PpoMetric> {
  const { pi, value, logStd } = mb.sequences ? net.forwardSequences(mb.obs, mb.sequences.state, mb.sequences.sequenceLength, mb.sequences.resets, p) : net.forward(mb.obs, p);
  const { logProb, entropy } = net.evaluateActions(pi, logStd, mb.actions, mb.mask ?? null);
  return ppoObjective({ ...mb, logProb, entropy, value }, cfg);
}

/** The loss from the network's outputs: log pi(a|s) [B], the entropy ([B], or a Gaussian's [] or [1]) and the value [B]. */
export function ppoObjective(t: PpoLossTargets & { logProb: tf.Tensor; entropy: tf.Tensor; value: tf.Tensor }, cfg: PpoLossConfig): LossOutput<PpoMetric> {
  // Means over the rows, or over the weighted rows: padding (weight 0) adds nothing, nor to the gradient.
  const w = t.weights ?? null;
  const mean = (x: tf.Tensor): tf.Scalar => (w ? tf.div(tf.sum(tf.mul(x, w)), tf.sum(w)) : tf.mean(x)) as tf.Scalar;
  const logRatio = tf.sub(t.logProb, t.oldLogp);
  const ratio = tf.exp(logRatio);
  const negAdv = tf.neg(t.advantages);
  const pgLoss = mean(tf.maximum(tf.mul(negAdv, ratio), tf.mul(negAdv, tf.clipByValue(ratio, 1 - cfg.clipRange, 1 + cfg.clipRange)))) as tf.Scalar;
  let vLoss = tf.square(tf.sub(t.value, t.returns));
  if (cfg.clipRangeVf !== null) {
    const clipped = tf.add(t.oldValues, tf.clipByValue(tf.sub(t.value, t.oldValues), -cfg.clipRangeVf, cfg.clipRangeVf));
    vLoss = tf.maximum(vLoss, tf.square(tf.sub(clipped, t.returns)));
  }
  vLoss = tf.mul(0.5, mean(vLoss));
  const entropyLoss = mean(t.entropy);
  const loss = tf.add(tf.sub(pgLoss, tf.mul(cfg.entCoef, entropyLoss)), tf.mul(cfg.vfCoef, vLoss)) as tf.Scalar;
  const approxKl = mean(tf.sub(tf.sub(ratio, 1), logRatio));
  const clipFraction = mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), cfg.clipRange), 'float32'));
  return { loss, metrics: { policyLoss: pgLoss, valueLoss: vLoss as tf.Scalar, entropy: entropyLoss, approxKl, clipFraction } };
}

/**
 * The derivatives of `ppoLoss`'s loss by the policy output `pi` (logits, or a Gaussian's mean),
 * the value and the Gaussian log-std, written out; with each row's log pi(a|s) and entropy (a
 * Gaussian's entropy is one number, [1]), from which `ppoObjective` gives the metrics. `actions`: one-hot (Discrete) or raw
 * (Box). Where tfjs' `maximum` and `clipByValue` pick a side at a tie, these pick the same.
 * With action masks, `pi` is the masked logits (`masked`, common/mask.ts): an illegal action's
 * derivative comes out exactly 0 (its probability is 0), as the tape gives it.
 */
export function ppoLossGradient(
  t: PpoLossTargets & { pi: tf.Tensor; logStd: tf.Tensor | null; actions: tf.Tensor; value: tf.Tensor },
  cfg: PpoLossConfig,
): { dPi: tf.Tensor; dValue: tf.Tensor; dLogStd: tf.Tensor | null; logProb: tf.Tensor; entropy: tf.Tensor } {
  const B = t.advantages.shape[0]!;
  const inRange = (x: tf.Tensor, lo: number, hi: number) => tf.cast(tf.logicalAnd(tf.greaterEqual(x, lo), tf.lessEqual(x, hi)), 'float32');
  let logp: tf.Tensor;
  let logpAll: tf.Tensor | undefined;
  let probs: tf.Tensor | undefined;
  let z: tf.Tensor | undefined;
  let entropy: tf.Tensor;
  if (t.logStd) {
    z = tf.div(tf.sub(t.actions, t.pi), tf.exp(t.logStd));
    logp = tf.sum(tf.sub(tf.mul(tf.square(z), -0.5), tf.add(t.logStd, 0.5 * Math.log(2 * Math.PI))), -1);
    entropy = tf.reshape(diagGaussian.entropy(t.logStd), [1]);
  } else {
    logpAll = tf.logSoftmax(t.pi);
    probs = tf.exp(logpAll);
    logp = tf.sum(tf.mul(logpAll, t.actions), -1);
    entropy = tf.neg(tf.sum(tf.mul(probs, logpAll), -1));
  }
  // pgLoss: d/dratio of mean(max(-A r, -A clip(r))) is -A/B where the unclipped side is taken
  // (or the clipped side with r inside the range), else 0; dratio/dlogp = ratio.
  const ratio = tf.exp(tf.sub(logp, t.oldLogp));
  const negA = tf.neg(t.advantages);
  const unclipped = tf.cast(tf.greaterEqual(tf.mul(negA, ratio), tf.mul(negA, tf.clipByValue(ratio, 1 - cfg.clipRange, 1 + cfg.clipRange))), 'float32');
  const live = tf.add(unclipped, tf.mul(tf.sub(1, unclipped), inRange(ratio, 1 - cfg.clipRange, 1 + cfg.clipRange)));
  const dLogp = tf.reshape(tf.mul(tf.mul(negA, live), tf.mul(ratio, 1 / B)), [B, 1]);
  let dPi: tf.Tensor;
  let dLogStd: tf.Tensor | null = null;
  if (t.logStd) {
    const sigma = tf.exp(t.logStd);
    dPi = tf.mul(dLogp, tf.div(z!, sigma)); // dlogp/dmean = z / sigma
    // dlogp/dlogStd = z^2 - 1; the entropy bonus adds -entCoef to each log-std.
    dLogStd = tf.sub(tf.sum(tf.mul(dLogp, tf.sub(tf.square(z!), 1)), 0), cfg.entCoef);
  } else {
    // dlogp/dlogits = onehot - p; d(-entCoef entropyLoss)/dlogits = entCoef/B * p (log p + H).
    dPi = tf.add(tf.mul(dLogp, tf.sub(t.actions, probs!)), tf.mul(cfg.entCoef / B, tf.mul(probs!, tf.add(logpAll!, tf.reshape(entropy, [B, 1])))));
  }
  // vfCoef vLoss = vfCoef * 0.5 * mean(max(d^2, dc^2)), dc the clipped value's error.
  const d = tf.sub(t.value, t.returns);
  let dv: tf.Tensor = d;
  if (cfg.clipRangeVf !== null) {
    const delta = tf.sub(t.value, t.oldValues);
    const dc = tf.sub(tf.add(t.oldValues, tf.clipByValue(delta, -cfg.clipRangeVf, cfg.clipRangeVf)), t.returns);
    const first = tf.cast(tf.greaterEqual(tf.square(d), tf.square(dc)), 'float32');
    dv = tf.add(tf.mul(d, first), tf.mul(tf.mul(dc, tf.sub(1, first)), inRange(delta, -cfg.clipRangeVf, cfg.clipRangeVf)));
  }
  return { dPi, dValue: tf.mul(dv, cfg.vfCoef / B), dLogStd, logProb: logp, entropy };
}
