import * as tf from '@tensorflow/tfjs';
import { applyGradients, clipByGlobalNorm, refuseNonFinite, type StepPlace } from '../common/optimizer';
import type { ActorCritic } from './actor-critic';
import { ppoLoss, ppoLossGradient, ppoLossMetrics, type PpoLossMetrics } from './loss';
import type { PpoConfig } from './config';

/** The update's rows, every batch joined: what a minibatch is drawn from. */
export interface PpoRollout {
  obs: Float32Array;
  actions: Float32Array;
  logp: Float32Array;
  values: Float32Array;
  advantages: Float32Array;
  returns: Float32Array;
}

/** One minibatch's rows, gathered; `actions` one-hot (Discrete) or raw (Box), `advantages` normalised if asked. */
export interface PpoMinibatch {
  obs: Float32Array;
  actions: Float32Array;
  advantages: Float32Array;
  oldLogp: Float32Array;
  oldValues: Float32Array;
  returns: Float32Array;
}

/** How a step differentiates the loss: through tfjs' tape (`reference`) or the written-out gradient. */
export type GradientPath = 'reference' | 'writtenOut';

/** The rows `idx` of `data`, advantages normalised within the minibatch when `normalizeAdvantages`. */
export function gatherMinibatch(net: ActorCritic, data: PpoRollout, idx: Int32Array, normalizeAdvantages: boolean): PpoMinibatch {
  const b = idx.length;
  const obsSize = net.obsSize;
  const actSize = net.actionSize;
  const mb: PpoMinibatch = {
    obs: new Float32Array(b * obsSize),
    actions: new Float32Array(b * actSize),
    advantages: new Float32Array(b),
    oldLogp: new Float32Array(b),
    oldValues: new Float32Array(b),
    returns: new Float32Array(b),
  };
  for (let j = 0; j < b; j++) {
    const i = idx[j];
    mb.obs.set(data.obs.subarray(i * obsSize, (i + 1) * obsSize), j * obsSize);
    if (net.discrete) mb.actions[j * actSize + data.actions[i]] = 1;
    else mb.actions.set(data.actions.subarray(i * actSize, (i + 1) * actSize), j * actSize);
    mb.oldLogp[j] = data.logp[i];
    mb.oldValues[j] = data.values[i];
    mb.returns[j] = data.returns[i];
    mb.advantages[j] = data.advantages[i];
  }
  if (normalizeAdvantages) normalize(mb.advantages);
  return mb;
}

/**
 * One gradient step of `ppoLoss` on a minibatch: the gradient (written out, or through the tape
 * for a network with conv layers, which have no written-out gradient), clipped by global norm
 * and applied. Each row's numbers and the norm come back in one read, before the gradient is
 * applied: a loss or norm that is not finite refuses the step (NonFiniteError) with nothing
 * changed. Returns the minibatch's metrics.
 */
export function ppoStep(
  net: ActorCritic,
  optimizer: tf.AdamOptimizer,
  mb: PpoMinibatch,
  cfg: PpoConfig,
  place: StepPlace,
  path: GradientPath = net.encoder ? 'reference' : 'writtenOut',
): PpoLossMetrics {
  const b = mb.advantages.length;
  const theta = net.params.variable;
  let metrics: PpoLossMetrics | undefined;
  tf.tidy(() => {
    const t = {
      obs: tf.tensor2d(mb.obs, [b, net.obsSize]),
      actions: tf.tensor2d(mb.actions, [b, net.actionSize]),
      advantages: tf.tensor1d(mb.advantages),
      oldLogp: tf.tensor1d(mb.oldLogp),
      oldValues: tf.tensor1d(mb.oldValues),
      returns: tf.tensor1d(mb.returns),
    };
    const { grad, rows } = path === 'writtenOut' ? writtenOutGradient(net, t, cfg) : referenceGradient(net, t, cfg);
    const { clipped, norm } = clipByGlobalNorm({ [theta.name]: grad }, cfg.maxGradNorm);
    const v = tf.concat([...rows, tf.reshape(norm, [1])]).dataSync() as Float32Array; // [ratio; entropy; value; norm]
    tf.dispose(rows); // kept out of the tape's scope, so not tidy's to free
    const n = v.length - 1;
    const m = ppoLossMetrics({ ratio: v.subarray(0, b), entropy: v.subarray(b, n - b), value: v.subarray(n - b, n) }, mb, cfg);
    refuseNonFinite(place, { 'policy loss': m.policyLoss, 'value loss': m.valueLoss, entropy: m.entropy, 'gradient norm': v[n] });
    applyGradients(optimizer, clipped);
    metrics = m;
  });
  return metrics!;
}

type MinibatchTensors = { obs: tf.Tensor; actions: tf.Tensor; advantages: tf.Tensor; oldLogp: tf.Tensor; oldValues: tf.Tensor; returns: tf.Tensor };

/** The flat gradient through tfjs' tape, and [ratio, entropy, value] of the rows. */
function referenceGradient(net: ActorCritic, t: MinibatchTensors, cfg: PpoConfig): { grad: tf.Tensor; rows: tf.Tensor[] } {
  let rows: tf.Tensor[] = [];
  const { grads } = tf.variableGrads(() => {
    const { pi, value, logStd } = net.forward(t.obs);
    const { logProb, entropy } = net.evaluateActions(pi, logStd, t.actions);
    const l = ppoLoss({ ...t, logProb, entropy, value }, cfg);
    rows = [l.ratio, tf.reshape(entropy, [-1]), value].map((x) => tf.keep(x));
    return l.loss;
  }, net.variables);
  return { grad: grads[net.params.variable.name], rows };
}

/**
 * The flat gradient written out (`ppoLossGradient`, then `ActorCritic.backward`): the same
 * numbers as the tape (a test compares them) in half the kernels, which is what a small
 * network's step costs on wasm. And [ratio, entropy, value] of the rows.
 */
function writtenOutGradient(net: ActorCritic, t: MinibatchTensors, cfg: PpoConfig): { grad: tf.Tensor; rows: tf.Tensor[] } {
  const p = net.params.unpack();
  const { pi, value, rec } = net.forwardRecorded(t.obs, p);
  const g = ppoLossGradient({ ...t, pi, value, logStd: net.discrete ? null : p['pi/logStd'] }, cfg);
  const grad = net.backward(p, rec, g.dPi, g.dValue, g.dLogStd);
  return { grad, rows: [g.ratio, g.entropy, value] };
}

/** (x - mean) / (std + 1e-8), in place; std with Bessel's correction, as torch's. */
function normalize(x: Float32Array): void {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let variance = 0;
  for (const v of x) variance += (v - mean) ** 2;
  const std = Math.sqrt(variance / Math.max(1, x.length - 1));
  for (let i = 0; i < x.length; i++) x[i] = (x[i] - mean) / (std + 1e-8);
}
