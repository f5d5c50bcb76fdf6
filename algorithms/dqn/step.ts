import * as tf from '@tensorflow/tfjs';
import type { Sampled } from '../common/replay';
import { applyGradients, clipByGlobalNorm, refuseNonFinite, type StepPlace } from '../common/optimizer';
import { concatFloat32 } from '../common/util';
import type { DqnConfig } from './config';
import { dqnLossMetrics, huberLoss, huberLossGradient, qTargets, tdErrors, type DqnLossMetrics } from './loss';
import type { QNetwork } from './q-network';

/** How a step differentiates the loss: through tfjs' tape (`reference`) or the written-out gradient. */
export type GradientPath = 'reference' | 'writtenOut';

/** The two networks of a step; `targetP` the target network's unpacked tensors. */
export interface DqnNets {
  online: QNetwork;
  target: QNetwork;
  targetP: Record<string, tf.Tensor>;
}

/**
 * One gradient step of `huberLoss` on the sampled minibatch `s`: the gradient (written out, or
 * through the tape for a network with conv layers), clipped by global norm and applied. Q(s, a),
 * the TD errors and the norm come back in one read, before the gradient is applied: a loss or
 * norm that is not finite refuses the step (NonFiniteError) with nothing changed. Returns the
 * metrics and the TD errors (for the priorities).
 */
export function dqnStep(
  nets: DqnNets,
  optimizer: tf.AdamOptimizer,
  s: Sampled,
  cfg: DqnConfig,
  place: StepPlace,
  path: GradientPath = nets.online.encoder ? 'reference' : 'writtenOut',
): { metrics: DqnLossMetrics; td: Float32Array } {
  const { online, target, targetP } = nets;
  const B = s.actions.length;
  const A = online.numActions;
  const d = online.obsSize;
  const delta = cfg.huberDelta;
  const oneHot = new Float32Array(B * A);
  for (let j = 0; j < B; j++) oneHot[j * A + s.actions[j]] = 1;
  // Double DQN: the online network also picks the next actions, in the same forward pass.
  const rows = cfg.doubleQ ? 2 * B : B;
  const x = cfg.doubleQ ? concatFloat32([s.obs, s.nextObs]) : s.obs;

  const theta = online.params.variable;
  let result: { metrics: DqnLossMetrics; td: Float32Array } | undefined;
  tf.tidy(() => {
    const obs = tf.tensor2d(x, [rows, d]);
    const actions = tf.tensor2d(oneHot, [B, A]);
    const qNextTarget = target.forward(targetP, tf.tensor2d(s.nextObs, [B, d]), true);
    const weights = cfg.prioritizedReplay ? tf.tensor1d(s.weights) : null; // uniform: all 1
    let out: tf.Tensor[] = [];
    /** Q(s, a) and the TD errors, from the online network's Q-values of [obs; nextObs]. */
    const td = (qAll: tf.Tensor2D) => {
      const q = cfg.doubleQ ? tf.slice(qAll, [0, 0], [B, A]) : qAll;
      const qNextOnline = cfg.doubleQ ? tf.slice(qAll, [B, 0], [B, A]) : null;
      const e = tdErrors(q, actions, qTargets(tf.tensor1d(s.rewards), tf.tensor1d(s.discounts), qNextTarget, qNextOnline));
      out = [tf.keep(e.qsa), tf.keep(e.td)];
      return e.td;
    };
    let grad: tf.Tensor;
    if (path === 'writtenOut') {
      const p = online.params.unpack();
      const { q, rec } = online.forwardRecorded(p, obs);
      const dqsa = huberLossGradient(td(q), weights, delta);
      grad = online.backward(p, rec, tf.mul(actions, tf.reshape(dqsa, [B, 1])) as tf.Tensor2D, B);
    } else {
      // Through the tape (argmax passes no gradient into the targets).
      grad = tf.variableGrads(() => huberLoss(td(online.forward(online.params.unpack(), obs)), weights, delta), [theta]).grads[theta.name];
    }
    const { clipped, norm } = clipByGlobalNorm({ [theta.name]: grad }, cfg.maxGradNorm);
    const v = tf.concat([...out, tf.reshape(norm, [1])]).dataSync() as Float32Array; // [qsa; td; norm]
    tf.dispose(out); // kept out of the tape's scope, so not tidy's to free
    const tdErr = v.slice(B, 2 * B);
    const metrics = dqnLossMetrics(v.subarray(0, B), tdErr, s.weights, delta);
    refuseNonFinite(place, { loss: metrics.loss, 'gradient norm': v[2 * B] });
    applyGradients(optimizer, clipped);
    result = { metrics, td: tdErr };
  });
  return result!;
}
