import * as tf from '@tensorflow/tfjs';
import { masked } from '../common/mask';
import { gradientStep, type Gradient } from '../common/gradient-step';
import type { StepPlace } from '../common/optimizer';
import type { Rng } from '../../core/rng';
import { shuffle } from '../common/util';
import { sequenceRows, type SequenceIndex } from '../common/sequences';
import type { ActorCritic } from './actor-critic';
import { ppoLoss, ppoLossGradient, ppoObjective, type PpoBatch, type PpoLossMetrics, type PpoMetric } from './loss';
import type { PpoConfig } from './config';

/** What a gradient step of the loss reads of the config (IMPALA and APPO give theirs too). */
export type PpoStepConfig = Pick<PpoConfig, 'clipRange' | 'clipRangeVf' | 'entCoef' | 'vfCoef' | 'maxGradNorm' | 'gradientPath'>;

/** The update's rows, every batch joined: what a minibatch is drawn from. */
export interface PpoRollout {
  /** Bytes when the env's observations are uint8: widened and scaled at the network's input (`ActorCritic.input`). */
  obs: Float32Array | Uint8Array;
  actions: Float32Array;
  logp: Float32Array;
  values: Float32Array;
  advantages: Float32Array;
  returns: Float32Array;
  /** The action masks the actions were sampled under, [rows * n] (1 legal); null when the env gives none. */
  masks?: Uint8Array | null;
  /**
   * A recurrent policy's rows as sequences (`cutSequences`) of `sequenceLength` steps, and the
   * state it acted from at each row, per state entry [rows * size] (the `state/<name>` columns,
   * in the cell's order); absent for a feed-forward one. Minibatches are then whole sequences.
   */
  sequences?: { index: SequenceIndex; sequenceLength: number; states: Float32Array[] } | null;
}

/** One minibatch's rows, gathered; `actions` one-hot (Discrete) or raw (Box), `advantages` normalised if asked. */
export interface PpoMinibatch {
  obs: Float32Array | Uint8Array;
  actions: Float32Array;
  advantages: Float32Array;
  oldLogp: Float32Array;
  oldValues: Float32Array;
  returns: Float32Array;
  /** The rows' action masks as floats [B * n] (1 legal, 0 illegal); absent or null: every action legal. */
  masks?: Float32Array | null;
  /** 1 for a real row, 0 for a recurrent minibatch's padding; absent or null: every row real. */
  weights?: Float32Array | null;
  /**
   * A recurrent minibatch: `sequenceLength` steps of S sequences, time-major, from `state` at
   * their starts ([S * size] per entry, in the cell's order), the state zeroed where `resets`
   * [rows] is 1 (an episode starts inside the sequence).
   */
  sequences?: { state: Float32Array[]; sequenceLength: number; resets: Uint8Array } | null;
}

/**
 * The rows `idx` of `data`, advantages normalised within the minibatch when `normalizeAdvantages`.
 * An index -1 is a padding row (a recurrent minibatch's, `sequenceRows`): zeros, every action
 * legal, weight 0, and left out of the normalisation.
 */
export function gatherMinibatch(net: ActorCritic, data: PpoRollout, idx: Int32Array, normalizeAdvantages: boolean): PpoMinibatch {
  const b = idx.length;
  const obsSize = net.obsSize;
  const actSize = net.actionSize;
  const mb: PpoMinibatch = {
    obs: data.obs instanceof Uint8Array ? new Uint8Array(b * obsSize) : new Float32Array(b * obsSize),
    actions: new Float32Array(b * actSize),
    advantages: new Float32Array(b),
    oldLogp: new Float32Array(b),
    oldValues: new Float32Array(b),
    returns: new Float32Array(b),
    masks: data.masks ? new Float32Array(b * actSize) : null,
    weights: idx.includes(-1) ? Float32Array.from(idx, (i) => (i < 0 ? 0 : 1)) : null,
  };
  for (let j = 0; j < b; j++) {
    const i = idx[j];
    if (i < 0) {
      mb.masks?.fill(1, j * actSize, (j + 1) * actSize); // every action legal: a finite log-softmax
      continue;
    }
    mb.obs.set(data.obs.subarray(i * obsSize, (i + 1) * obsSize), j * obsSize);
    if (net.discrete) mb.actions[j * actSize + data.actions[i]] = 1;
    else mb.actions.set(data.actions.subarray(i * actSize, (i + 1) * actSize), j * actSize);
    mb.oldLogp[j] = data.logp[i];
    mb.oldValues[j] = data.values[i];
    mb.returns[j] = data.returns[i];
    mb.advantages[j] = data.advantages[i];
    if (data.masks) mb.masks!.set(data.masks.subarray(i * actSize, (i + 1) * actSize), j * actSize);
  }
  if (normalizeAdvantages) normalize(mb.advantages, mb.weights ?? null);
  return mb;
}

/**
 * One gradient step of `ppoLoss` on a minibatch (`gradientStep`): through the tape, or with
 * `cfg.gradientPath` writtenOut through the written-out gradient (conv layers included). A loss or gradient norm that is not
 * finite refuses the step (NonFiniteError) with nothing changed. Returns the minibatch's metrics.
 */
export function ppoStep(net: ActorCritic, optimizer: tf.Optimizer, mb: PpoMinibatch, cfg: PpoStepConfig, place: StepPlace): PpoLossMetrics {
  const writtenOut = cfg.gradientPath === 'writtenOut';
  let metrics: PpoLossMetrics | undefined;
  tf.tidy(() => {
    const t = minibatchTensors(net, mb);
    metrics = gradientStep((p) => ppoLoss(net, p, t, cfg), net.params, optimizer, cfg.maxGradNorm, place, writtenOut ? () => ppoWrittenOutGradient(net, t, cfg) : undefined).metrics;
  });
  return metrics!;
}

/** A minibatch's rows as tensors. */
export function minibatchTensors(net: ActorCritic, mb: PpoMinibatch): PpoBatch {
  const b = mb.advantages.length;
  return {
    obs: tf.tensor2d(mb.obs, [b, net.obsSize], mb.obs instanceof Uint8Array ? 'int32' : 'float32'), // bytes: the network's input casts them
    actions: tf.tensor2d(mb.actions, [b, net.actionSize]),
    advantages: tf.tensor1d(mb.advantages),
    oldLogp: tf.tensor1d(mb.oldLogp),
    oldValues: tf.tensor1d(mb.oldValues),
    returns: tf.tensor1d(mb.returns),
    mask: mb.masks ? tf.tensor2d(mb.masks, [b, net.actionSize]) : null,
    weights: mb.weights ? tf.tensor1d(mb.weights) : null,
    sequences: mb.sequences ? sequenceTensors(mb.sequences, b) : null,
  };
}

/** A recurrent minibatch's start states as [S, size] tensors, S = rows / sequenceLength. */
function sequenceTensors(seq: NonNullable<PpoMinibatch['sequences']>, rows: number): NonNullable<PpoBatch['sequences']> {
  const S = rows / seq.sequenceLength;
  return { state: seq.state.map((s) => tf.tensor2d(s, [S, s.length / S])), sequenceLength: seq.sequenceLength, resets: seq.resets };
}

/**
 * `ppoLoss`'s flat gradient written out, without the tape (`ppoLossGradient`, then
 * `ActorCritic.backward`: inference kernels, no copies of each op's inputs), and its metrics
 * (`ppoObjective` on the same outputs).
 */
export function ppoWrittenOutGradient(net: ActorCritic, t: PpoBatch, cfg: PpoStepConfig): Gradient<PpoMetric> {
  const p = net.params.unpack();
  const { pi, value, rec } = net.forwardRecorded(t.obs, p);
  // Masked logits: an illegal action's probability is 0, so its logit's derivative comes out 0.
  const g = ppoLossGradient({ ...t, pi: masked(pi, t.mask), value, logStd: net.discrete ? null : p['pi/logStd'] }, cfg);
  const out = ppoObjective({ ...t, logProb: g.logProb, entropy: g.entropy, value }, cfg);
  return { ...out, grad: net.backward(p, rec, g.dPi, g.dValue, g.dLogStd) };
}

/**
 * Where the minibatches of a shuffled batch of `size` rows start and end: round(size /
 * minibatchSize) of them (at least one), sizes differing by at most one, every row in one. For
 * a size that is a multiple of minibatchSize, the usual equal slices.
 */
export function minibatchCuts(size: number, minibatchSize: number): number[] {
  const count = Math.max(1, Math.round(size / minibatchSize));
  return Array.from({ length: count + 1 }, (_, k) => Math.round((k * size) / count));
}

/**
 * `numEpochs` passes over the rows of `data`, each shuffled by `rng` and cut into minibatches
 * (`minibatchCuts`), one `ppoStep` each. Every row is used: a batch that workers filled past
 * trainBatchSize is cut into round(size / minibatchSize) minibatches of sizes differing by at
 * most one. A recurrent policy's data (`data.sequences`) is shuffled and cut as sequences
 * instead of rows: as many minibatches, of whole sequences (`sequenceMinibatch`). Returns the
 * loss's metrics, averaged over the steps.
 */
export function ppoEpochs(
  net: ActorCritic,
  optimizer: tf.Optimizer,
  rng: Rng,
  data: PpoRollout,
  cfg: PpoStepConfig & Pick<PpoConfig, 'numEpochs' | 'minibatchSize' | 'normalizeAdvantages'>,
  place: { algorithm: string; envSteps: number },
): PpoLossMetrics {
  const size = data.advantages.length;
  const sums: PpoLossMetrics = { policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0 };
  let minibatches = 0;
  const seqs = data.sequences ?? null;
  const units = seqs ? seqs.index.starts.length : size;
  const cuts = seqs ? minibatchCuts(units, units / Math.max(1, Math.round(size / cfg.minibatchSize))) : minibatchCuts(size, cfg.minibatchSize);
  for (let epoch = 0; epoch < cfg.numEpochs; epoch++) {
    const order = shuffle(units, rng);
    for (let k = 0; k + 1 < cuts.length; k++) {
      const which = order.subarray(cuts[k], cuts[k + 1]);
      const mb = seqs ? sequenceMinibatch(net, data, which, cfg.normalizeAdvantages) : gatherMinibatch(net, data, which, cfg.normalizeAdvantages);
      const where = () => `the update at ${place.envSteps} env steps (epoch ${epoch + 1}, minibatch ${k + 1})`;
      const m = ppoStep(net, optimizer, mb, cfg, { algorithm: place.algorithm, where });
      for (const key of Object.keys(sums) as (keyof PpoLossMetrics)[]) sums[key] += m[key];
      minibatches += 1;
    }
  }
  for (const key of Object.keys(sums) as (keyof PpoLossMetrics)[]) sums[key] /= minibatches;
  return sums;
}

/** The sequences `which` of `data.sequences` as a padded, time-major minibatch, with the stored state at each one's start. */
export function sequenceMinibatch(net: ActorCritic, data: PpoRollout, which: Int32Array, normalizeAdvantages: boolean): PpoMinibatch {
  const { index, sequenceLength, states } = data.sequences!;
  const { rows, resets } = sequenceRows(index, which, sequenceLength);
  const mb = gatherMinibatch(net, data, rows, normalizeAdvantages);
  const state = states.map((all) => {
    const size = all.length / data.advantages.length;
    const out = new Float32Array(which.length * size);
    which.forEach((k, s) => out.set(all.subarray(index.starts[k] * size, (index.starts[k] + 1) * size), s * size));
    return out;
  });
  mb.sequences = { state, sequenceLength, resets };
  return mb;
}

/** (x - mean) / (std + 1e-8), in place; std with Bessel's correction, as torch's. With `weights`, over the rows of weight 1 (the others stay 0). */
function normalize(x: Float32Array, weights: Float32Array | null): void {
  const real = (i: number) => !weights || weights[i] > 0;
  let n = 0;
  let mean = 0;
  for (let i = 0; i < x.length; i++) if (real(i)) (mean += x[i]), (n += 1);
  mean /= Math.max(1, n);
  let variance = 0;
  for (let i = 0; i < x.length; i++) if (real(i)) variance += (x[i] - mean) ** 2;
  const std = Math.sqrt(variance / Math.max(1, n - 1));
  for (let i = 0; i < x.length; i++) x[i] = real(i) ? (x[i] - mean) / (std + 1e-8) : 0;
}
