import * as tf from '@tensorflow/tfjs';
import { ACTION_MASK, type MetricSpec, type TrajectoryBatch } from '../../core/algorithm';
import { concatBytes, concatFloat32, concatObs } from '../../core/concat';
import { vtrace } from '../common/vtrace';
import type { ActorCritic } from '../ppo/actor-critic';
import type { PpoRollout } from '../ppo/step';
import type { VtraceConfig } from './config';

/**
 * The rows of an IMPALA or APPO update: every batch's steps joined, with V-trace targets
 * computed per batch (each its own time-major segments) from one forward pass, without the
 * tape, of the network being trained (V(x_t) and the bootstrap values, log pi(a_t|x_t)) and,
 * for APPO, of its target network (whose policy is then V-trace's target policy).
 */
export interface VtraceRows {
  /** Joined as PPO's update reads them; `advantages` and `returns` are left for the caller (`vtraceTargets`). */
  rows: Omit<PpoRollout, 'logp' | 'advantages' | 'returns'>;
  /** log mu(a|x): the behaviour policy's, as the worker recorded it. */
  behaviourLogp: Float32Array;
  /** log pi(a|x) under the network being trained, at the update's start. */
  currentLogp: Float32Array;
  /** log pi(a|x) under V-trace's target policy: the target network's (APPO) or the current one's (IMPALA). */
  targetLogp: Float32Array;
  /** V-trace's value targets v_t and policy-gradient advantages. */
  vs: Float32Array;
  pgAdvantages: Float32Array;
  /** Mean of the clipped importance weights min(rhoBar, pi/mu). */
  meanRho: number;
}

/** The metrics both report: PPO's loss metrics (`policyLoss` is the surrogate's value), and V-trace's mean rho. */
export const vtraceMetrics: readonly MetricSpec[] = [
  { key: 'policyLoss', group: 'train', reduce: 'mean', label: 'pg' },
  { key: 'valueLoss', group: 'train', reduce: 'mean', label: 'vf' },
  { key: 'entropy', group: 'train', reduce: 'mean', label: 'ent' },
  { key: 'approxKl', group: 'train', reduce: 'mean' },
  { key: 'clipFraction', group: 'train', reduce: 'mean' },
  { key: 'meanRho', group: 'train', reduce: 'mean', label: 'rho' },
  { key: 'explainedVariance', group: 'train', reduce: 'mean' },
  { key: 'learningRate', group: 'train', reduce: 'last' },
];

/** One batch through `net` (and `target`): values, bootstrap values, log-probs of the actions taken; then V-trace. */
function batchTargets(net: ActorCritic, target: ActorCritic | null, batch: TrajectoryBatch, cfg: VtraceConfig) {
  const n = batch.numEnvs;
  const rows = n * batch.length;
  const masks = (batch.columns[ACTION_MASK] as Uint8Array | undefined) ?? null;
  const bootRows = n + batch.finalObs.index.length;
  const read = tf.tidy(() => {
    const dtype = batch.obs instanceof Uint8Array ? 'int32' : 'float32'; // bytes: the network's input casts them
    const obs = tf.tensor2d(batch.obs, [rows, net.obsSize], dtype);
    const actions = tf.tensor2d(actionRows(net, batch.actions, rows), [rows, net.actionSize]);
    const mask = masks ? tf.tensor2d(Float32Array.from(masks), [rows, net.actionSize]) : null;
    const logpOf = (m: ActorCritic) => {
      const out = m.forward(obs);
      return { logp: m.evaluateActions(out.pi, out.logStd, actions, mask).logProb, value: out.value };
    };
    const cur = logpOf(net);
    const tgt = target ? logpOf(target).logp : cur.logp;
    // V of the states after the last step and after each truncation.
    const bootObs = tf.concat([tf.tensor2d(batch.nextObs, [n, net.obsSize], dtype), tf.tensor2d(batch.finalObs.obs, [bootRows - n, net.obsSize], dtype)]);
    return tf.concat([cur.value, cur.logp, tgt, net.value(bootObs)]).dataSync() as Float32Array;
  });
  const values = read.slice(0, rows);
  const currentLogp = read.slice(rows, 2 * rows);
  const targetLogp = read.slice(2 * rows, 3 * rows);
  const boot = read.subarray(3 * rows);
  const nextValues = new Float32Array(rows);
  nextValues.set(values.subarray(n)); // row t takes V(row t+1) ...
  nextValues.set(boot.subarray(0, n), rows - n); // ... the last step takes V(nextObs) ...
  batch.finalObs.index.forEach((row, k) => (nextValues[row] = boot[n + k])); // ... a truncation V(finalObs)
  const behaviourLogp = batch.columns.logp as Float32Array;
  const logRhos = targetLogp.map((t, i) => t - behaviourLogp[i]);
  const v = vtrace({ gamma: cfg.gamma, rhoBar: cfg.rhoBar, cBar: cfg.cBar, pgRhoBar: cfg.pgRhoBar, lambda: cfg.lambda, rewards: batch.rewards, values, nextValues, logRhos, terminated: batch.terminated, truncated: batch.truncated, numEnvs: n, length: batch.length });
  return { obs: batch.obs, actions: batch.actions, values, masks, behaviourLogp, currentLogp, targetLogp, vs: v.vs, pgAdvantages: v.pgAdvantages, meanRho: v.meanRho, rows };
}

/** The batches' rows, joined, with their V-trace targets (see `VtraceRows`). */
export function vtraceRows(net: ActorCritic, target: ActorCritic | null, batches: TrajectoryBatch[], cfg: VtraceConfig, actionMask: boolean): VtraceRows {
  const parts = batches.map((b) => batchTargets(net, target, b, cfg));
  const join = (k: 'actions' | 'values' | 'behaviourLogp' | 'currentLogp' | 'targetLogp' | 'vs' | 'pgAdvantages') => concatFloat32(parts.map((p) => p[k]));
  const total = parts.reduce((s, p) => s + p.rows, 0);
  return {
    // uint8 frames stay bytes; the network widens and scales them at its input.
    rows: { obs: concatObs(parts.map((p) => p.obs)), actions: join('actions'), values: join('values'), masks: actionMask ? concatBytes(parts.map((p) => p.masks!)) : null },
    behaviourLogp: join('behaviourLogp'),
    currentLogp: join('currentLogp'),
    targetLogp: join('targetLogp'),
    vs: join('vs'),
    pgAdvantages: join('pgAdvantages'),
    meanRho: parts.reduce((s, p) => s + p.meanRho * p.rows, 0) / total,
  };
}

/** Actions as the loss reads them: one-hot rows for a Discrete space, the raw values for a Box. */
function actionRows(net: ActorCritic, actions: Float32Array, rows: number): Float32Array {
  if (!net.discrete) return actions;
  const oneHot = new Float32Array(rows * net.actionSize);
  for (let i = 0; i < rows; i++) oneHot[i * net.actionSize + actions[i]] = 1;
  return oneHot;
}
