import * as tf from '@tensorflow/tfjs';
import type { Sampled } from '../common/replay';
import { gradientStep, type Gradient } from '../common/gradient-step';
import type { StepPlace } from '../common/optimizer';
import { concatObs } from '../../core/concat';
import type { DqnConfig } from './config';
import { dqnLoss, dqnObjective, huberLossGradient, type DqnBatch, type DqnLossConfig, type DqnLossMetrics, type DqnMetric } from './loss';
import type { QNetwork } from './q-network';

/** The two networks of a step; `targetP` the target network's unpacked tensors. */
export interface DqnNets {
  online: QNetwork;
  target: QNetwork;
  targetP: Record<string, tf.Tensor>;
}

/**
 * One gradient step of `dqnLoss` on the sampled minibatch `s` (`gradientStep`): through the
 * tape, or with `cfg.gradientPath` writtenOut through the written-out gradient (conv layers
 * included). A loss or gradient norm that is not
 * finite refuses the step (NonFiniteError) with nothing changed. Returns the metrics and the
 * TD errors (for the priorities).
 */
export function dqnStep(nets: DqnNets, optimizer: tf.Optimizer, s: Sampled, cfg: DqnConfig, place: StepPlace): { metrics: DqnLossMetrics; td: Float32Array } {
  const { online } = nets;
  const writtenOut = cfg.gradientPath === 'writtenOut';
  let result: { metrics: DqnLossMetrics; td: Float32Array } | undefined;
  tf.tidy(() => {
    const mb = minibatchTensors(nets, s, cfg);
    const r = gradientStep((p) => dqnLoss(online, p, mb, cfg), online.params, optimizer, cfg.maxGradNorm, place, writtenOut ? () => dqnWrittenOutGradient(online, mb, cfg) : undefined);
    result = { metrics: r.metrics, td: r.rows.td };
  });
  return result!;
}

/** The sampled rows as tensors, with the target network's Q-values of the next observations (no gradient flows into them). */
export function minibatchTensors(nets: DqnNets, s: Sampled, cfg: Pick<DqnConfig, 'doubleQ' | 'prioritizedReplay'>): DqnBatch {
  const { online, target, targetP } = nets;
  const B = s.actions.length;
  const A = online.numActions;
  const d = online.obsSize;
  const oneHot = new Float32Array(B * A);
  for (let j = 0; j < B; j++) oneHot[j * A + s.actions[j]] = 1;
  // Double DQN: the online network also picks the next actions, in the same forward pass.
  // uint8 observations (pictures) become float here, at the network's input.
  const x = cfg.doubleQ ? concatObs([s.obs, s.nextObs]) : s.obs;
  return {
    obs: tf.tensor2d(x, [x.length / d, d], 'float32'),
    actions: tf.tensor2d(oneHot, [B, A]),
    rewards: tf.tensor1d(s.rewards),
    discounts: tf.tensor1d(s.discounts),
    qNextTarget: target.forward(targetP, tf.tensor2d(s.nextObs, [B, d], 'float32'), true),
    weights: cfg.prioritizedReplay ? tf.tensor1d(s.weights) : null, // uniform: all 1
    nextMask: s.nextMasks ? tf.tensor2d(s.nextMasks, [B, A], 'float32') : null,
  };
}

/**
 * `dqnLoss`'s flat gradient written out, without the tape (`huberLossGradient`, then
 * `QNetwork.backward` through the first B rows), and its metrics and TD errors (`dqnObjective`
 * on the same Q-values).
 */
export function dqnWrittenOutGradient(net: QNetwork, mb: DqnBatch, cfg: DqnLossConfig): Gradient<DqnMetric, 'td'> {
  const B = mb.actions.shape[0];
  const p = net.params.unpack();
  const { q, rec } = net.forwardRecorded(p, mb.obs);
  const out = dqnObjective(q, mb, cfg);
  const dqsa = huberLossGradient(out.rows!.td, mb.weights, cfg.huberDelta);
  return { ...out, grad: net.backward(p, rec, tf.mul(mb.actions, tf.reshape(dqsa, [B, 1])) as tf.Tensor2D, B) };
}
