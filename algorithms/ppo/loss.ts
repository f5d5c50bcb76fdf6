import * as tf from '@tensorflow/tfjs';
import { diagGaussian } from '../common/distributions';
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
 * stated three ways, side by side: `ppoLoss` in tfjs ops for tfjs' tape (the conv path, and the
 * reference the tests hold the other two to); `ppoLossGradient`, its derivative written out (the
 * MLP path: the same numbers in half the kernels); and `ppoLossMetrics`, the logged numbers, in
 * plain JS from each row's ratio, entropy and value, whichever path gave them.
 */

/** The loss's settings. */
export type PpoLossConfig = Pick<PpoConfig, 'clipRange' | 'clipRangeVf' | 'entCoef' | 'vfCoef'>;

/** What the loss knows of each row besides the network's outputs, [B] each. */
export interface PpoLossTargets {
  advantages: tf.Tensor;
  oldLogp: tf.Tensor;
  oldValues: tf.Tensor;
  returns: tf.Tensor;
}

/** The loss in tfjs ops, each part named; differentiate `loss`. `ratio` [B] is for the metrics. */
export function ppoLoss(
  t: PpoLossTargets & { logProb: tf.Tensor; entropy: tf.Tensor; value: tf.Tensor },
  cfg: PpoLossConfig,
): { pgLoss: tf.Tensor; vLoss: tf.Tensor; entropyLoss: tf.Tensor; loss: tf.Scalar; ratio: tf.Tensor } {
  const ratio = tf.exp(tf.sub(t.logProb, t.oldLogp));
  const negAdv = tf.neg(t.advantages);
  const pgLoss = tf.mean(tf.maximum(tf.mul(negAdv, ratio), tf.mul(negAdv, tf.clipByValue(ratio, 1 - cfg.clipRange, 1 + cfg.clipRange))));
  let vLoss = tf.square(tf.sub(t.value, t.returns));
  if (cfg.clipRangeVf !== null) {
    const clipped = tf.add(t.oldValues, tf.clipByValue(tf.sub(t.value, t.oldValues), -cfg.clipRangeVf, cfg.clipRangeVf));
    vLoss = tf.maximum(vLoss, tf.square(tf.sub(clipped, t.returns)));
  }
  vLoss = tf.mul(0.5, tf.mean(vLoss));
  const entropyLoss = tf.mean(t.entropy);
  const loss = tf.add(tf.sub(pgLoss, tf.mul(cfg.entCoef, entropyLoss)), tf.mul(cfg.vfCoef, vLoss)) as tf.Scalar;
  return { pgLoss, vLoss, entropyLoss, loss, ratio };
}

/**
 * The derivatives of `ppoLoss`'s loss by the policy output `pi` (logits, or a Gaussian's mean),
 * the value and the Gaussian log-std, written out; with each row's ratio and entropy (a
 * Gaussian's entropy is one number, [1]) for the metrics. `actions`: one-hot (Discrete) or raw
 * (Box). Where tfjs' `maximum` and `clipByValue` pick a side at a tie, these pick the same.
 */
export function ppoLossGradient(
  t: PpoLossTargets & { pi: tf.Tensor; logStd: tf.Tensor | null; actions: tf.Tensor; value: tf.Tensor },
  cfg: PpoLossConfig,
): { dPi: tf.Tensor; dValue: tf.Tensor; dLogStd: tf.Tensor | null; ratio: tf.Tensor; entropy: tf.Tensor } {
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
  return { dPi, dValue: tf.mul(dv, cfg.vfCoef / B), dLogStd, ratio, entropy };
}

/**
 * What `update()` logs of a minibatch, by the names it logs them under: policyLoss (pgLoss),
 * valueLoss (vLoss), entropy (entropyLoss), approxKl (the "k3" estimator mean((r - 1) - log r),
 * as CleanRL's approx_kl) and clipFraction (the share of rows with |r - 1| > clipRange).
 */
export interface PpoLossMetrics {
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  approxKl: number;
  clipFraction: number;
}

/**
 * The metrics of one minibatch from each row's numbers after the forward pass: `ratio` and
 * `value` [B], `entropy` [B] or [1] (a Gaussian's); `advantages` as the loss saw them.
 */
export function ppoLossMetrics(
  rows: { ratio: Float32Array; entropy: Float32Array; value: Float32Array },
  mb: { advantages: Float32Array; oldValues: Float32Array; returns: Float32Array },
  cfg: PpoLossConfig,
): PpoLossMetrics {
  const { ratio, value } = rows;
  const { advantages: adv, oldValues, returns } = mb;
  const b = adv.length;
  let pg = 0;
  let kl = 0;
  let clipped = 0;
  let vLoss = 0;
  for (let i = 0; i < b; i++) {
    const r = ratio[i];
    const rc = Math.min(Math.max(r, 1 - cfg.clipRange), 1 + cfg.clipRange);
    pg += Math.max(-adv[i] * r, -adv[i] * rc);
    kl += r - 1 - Math.log(r);
    if (Math.abs(r - 1) > cfg.clipRange) clipped += 1;
    let sq = (value[i] - returns[i]) ** 2;
    if (cfg.clipRangeVf !== null) {
      const vc = oldValues[i] + Math.min(Math.max(value[i] - oldValues[i], -cfg.clipRangeVf), cfg.clipRangeVf);
      sq = Math.max(sq, (vc - returns[i]) ** 2);
    }
    vLoss += sq;
  }
  const entropy = rows.entropy.reduce((a, x) => a + x, 0) / rows.entropy.length;
  // Rounded to float32, as the logged numbers always were: runs before and after stay comparable bit for bit.
  const f = Math.fround;
  return { policyLoss: f(pg / b), valueLoss: f((0.5 * vLoss) / b), entropy: f(entropy), approxKl: f(kl / b), clipFraction: f(clipped / b) };
}
