import * as tf from '@tensorflow/tfjs';
import { ACTION_MASK, DEFAULT_POLICY, policySpecOf, weightsFromState, weightsToState, type Algorithm, type AlgorithmModule, type AlgorithmState, type ConfigIssue, type CreateOptions, type MetricSpec, type ParamsById, type PolicySpec, type Schedule, type TrajectoryBatch, type UpdateContext } from '../../core/algorithm';
import { Rng } from '../../core/rng';
import { seedStreams } from '../../core/seed-streams';
import { ActorCritic, ActorCriticPolicy } from './actor-critic';
import { FusedAdam } from '../common/fused-adam';
import { computeGae } from '../common/gae';
import { optimizerFromState, optimizerToState, setLearningRate } from '../common/optimizer';
import { concatBytes, concatFloat32, concatObs } from '../../core/concat';
import { explainedVariance } from '../common/util';
import { minibatchCuts, ppoEpochs, type PpoRollout } from './step';
import { recurrentStateNames, stateColumn } from '../common/recurrent';
import { cutSequences, type SequencePart } from '../common/sequences';
import { ConfigError } from '../../core/errors';
import { ppoConfigSchema, type PpoConfig } from './config';

export { ppoConfigSchema, type PpoConfig, minibatchCuts };

function trainBatchSize(cfg: PpoConfig, totalEnvs: number, rolloutLength: number): number {
  return cfg.trainBatchSize ?? totalEnvs * rolloutLength;
}

export const ppo: AlgorithmModule<PpoConfig> = {
  name: 'ppo',
  configSchema: ppoConfigSchema,
  // Illegal actions get probability 0 in sampling and in the loss (masked logits: common/distributions.ts).
  actionMasks: true,
  // model.recurrent: an LSTM or GRU cell, trained on sequences of sequenceLength steps (reset where episodes start).
  recurrent: true,

  check(cfg, ctx): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const batch = trainBatchSize(cfg, ctx.totalEnvs, ctx.rolloutLength);
    if (cfg.minibatchSize > batch) {
      issues.push({ path: 'minibatchSize', message: `(${cfg.minibatchSize}) must be <= trainBatchSize (${batch})` });
    }
    if (cfg.lrSchedule === 'linear' && ctx.totalEnvSteps === undefined) {
      issues.push({ path: 'lrSchedule', message: '(linear) anneals over stop.envSteps, which is not set' });
    }
    return issues;
  },

  pinConfig: (cfg, ctx) => ({ ...cfg, trainBatchSize: trainBatchSize(cfg, ctx.totalEnvs, ctx.rolloutLength) }),

  create: (opts) => new Ppo(opts),
  // Each step's log-probability and value estimate, recorded by the worker for the loss and GAE.
  // A recurrent policy also records the state it acted from (state/h, state/c): each training sequence starts from it.
  policySpec: (opts) => {
    const r = opts.model.recurrent;
    const state = r ? recurrentStateNames(r.type).map((name) => ({ name, size: r.size })) : [];
    return policySpecOf(opts, {
      algorithm: 'ppo',
      columns: [
        { name: 'logp', dtype: 'float32', shape: [] },
        { name: 'value', dtype: 'float32', shape: [] },
        ...state.map((st) => ({ name: stateColumn(st.name), dtype: 'float32' as const, shape: [st.size] })),
      ],
      state,
    });
  },
  createPolicy: (spec, ctx) => new ActorCriticPolicy(spec, (spec.config as PpoConfig).initLogStd, ctx?.engine),
  weightShapes: (spec) => ActorCritic.shapesOf(spec),
  // The recurrent cell (if any), the policy tower and its head; the value tower and the log-std are not on the greedy path.
  greedyPath: (spec, weight) => {
    const w = weight('pi/out/w');
    const r = spec.model.recurrent;
    const recurrent = r && { kind: r.type, inputs: weight('rnn/x/w').shape[0], size: r.size, wx: weight('rnn/x/w').data, bx: weight('rnn/x/b').data, wh: weight('rnn/h/w').data, bh: weight('rnn/h/b').data };
    return {
      body: spec.model.sharedLayers ? 'shared' : 'pi',
      ...(recurrent ? { recurrent } : {}),
      head: { kind: spec.actionSpace.type === 'Discrete' ? 'logits' : 'mean', inputs: w.shape[0], outputs: w.shape[1], w: w.data, b: weight('pi/out/b').data },
    };
  },
};

/** Proximal Policy Optimization with a clipped surrogate objective (Schulman et al., 2017). */
export class Ppo implements Algorithm {
  readonly schedule: Schedule;
  readonly metrics: readonly MetricSpec[] = [
    { key: 'policyLoss', group: 'train', reduce: 'mean', label: 'pg' },
    { key: 'valueLoss', group: 'train', reduce: 'mean', label: 'vf' },
    { key: 'entropy', group: 'train', reduce: 'mean', label: 'ent' },
    { key: 'approxKl', group: 'train', reduce: 'mean', label: 'kl' },
    { key: 'clipFraction', group: 'train', reduce: 'mean' },
    { key: 'explainedVariance', group: 'train', reduce: 'mean' },
    { key: 'learningRate', group: 'train', reduce: 'last' },
  ];
  private readonly cfg: PpoConfig;
  private readonly net: ActorCritic;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly rng: Rng;

  constructor(private readonly opts: CreateOptions<PpoConfig>) {
    this.cfg = opts.config;
    this.schedule = { mode: 'sync', trainBatchSize: trainBatchSize(this.cfg, opts.totalEnvs, opts.rolloutLength), maxPolicyLag: this.cfg.maxPolicyLag };
    const seeds = seedStreams(opts.seed);
    this.net = new ActorCritic(opts, opts.model, seeds.init, this.cfg.initLogStd);
    this.optimizer = new FusedAdam(this.cfg.lr, 0.9, 0.999, 1e-5);
    this.rng = new Rng(seeds.learner);
    if (opts.model.recurrent && this.cfg.gradientPath === 'writtenOut') throw new ConfigError('ppo.gradientPath (writtenOut) has no recurrent path: use tape with model.recurrent');
  }

  policySpecs(): Record<string, PolicySpec> {
    return { [DEFAULT_POLICY]: ppo.policySpec(this.opts) };
  }

  getParams(): ParamsById {
    return { [DEFAULT_POLICY]: { weights: this.net.getWeights(), scalars: {} } };
  }

  async update(batches: TrajectoryBatch[], ctx: UpdateContext): Promise<Record<string, number>> {
    const cfg = this.cfg;
    const data = this.postprocess(batches);
    const lr = cfg.lrSchedule === 'linear' ? cfg.lr * Math.max(0, 1 - ctx.envSteps / (this.opts.totalEnvSteps ?? Infinity)) : cfg.lr;
    setLearningRate(this.optimizer, lr); // read by every applyGradients
    const losses = ppoEpochs(this.net, this.optimizer, this.rng, data, cfg, { algorithm: 'ppo', envSteps: ctx.envSteps });
    return { learningRate: lr, ...losses, explainedVariance: explainedVariance(data.values, data.returns) };
  }

  /**
   * V of the states after each batch's last step and after each truncation, in one forward
   * pass; a recurrent network's from the state one step past the stored state of that row
   * (zeros where the last row ended an episode: nextObs starts a new one).
   */
  private bootstrapValues(batch: TrajectoryBatch): Float32Array {
    const net = this.net;
    const n = batch.numEnvs;
    const rows = n * batch.length;
    const bootObs = new Float32Array((n + batch.finalObs.index.length) * net.obsSize);
    bootObs.set(batch.nextObs);
    bootObs.set(batch.finalObs.obs, batch.nextObs.length);
    const count = bootObs.length / net.obsSize;
    if (!net.cell) return tf.tidy(() => net.value(tf.tensor2d(bootObs, [count, net.obsSize])).dataSync() as Float32Array);
    const cell = net.cell;
    const prevRows = [...Array.from({ length: n }, (_, e) => rows - n + e), ...batch.finalObs.index];
    const prevObs = new Float32Array(count * net.obsSize);
    prevRows.forEach((r, k) => prevObs.set(batch.obs.subarray(r * net.obsSize, (r + 1) * net.obsSize), k * net.obsSize));
    const reset = Float32Array.from(prevRows, (r, k) => (k < n ? batch.terminated[r] | batch.truncated[r] : 0));
    return tf.tidy(() => {
      const state = cell.stateNames.map((name) => {
        const col = batch.columns[stateColumn(name)] as Float32Array;
        const s = new Float32Array(count * cell.size);
        prevRows.forEach((r, k) => s.set(col.subarray(r * cell.size, (r + 1) * cell.size), k * cell.size));
        return tf.tensor2d(s, [count, cell.size]);
      });
      return net.valueAfter(tf.tensor2d(prevObs, [count, net.obsSize]), state, tf.tensor2d(bootObs, [count, net.obsSize]), tf.tensor2d(reset, [count, 1])).dataSync() as Float32Array;
    });
  }

  /** Columns of all batches joined, with GAE advantages and returns computed per batch. */
  private postprocess(batches: TrajectoryBatch[]): PpoRollout {
    const parts = batches.map((batch) => {
      const values = batch.columns.value as Float32Array;
      const n = batch.numEnvs;
      const rows = n * batch.length;
      const boot = this.bootstrapValues(batch);
      const nextValues = new Float32Array(rows);
      nextValues.set(values.subarray(n)); // row t takes V(row t+1) ...
      nextValues.set(boot.subarray(0, n), rows - n); // ... the last step takes V(nextObs) ...
      batch.finalObs.index.forEach((row, k) => (nextValues[row] = boot[n + k])); // ... a truncation V(finalObs)
      const { advantages, returns } = computeGae({
        rewards: batch.rewards,
        values,
        nextValues,
        terminated: batch.terminated,
        truncated: batch.truncated,
        numEnvs: n,
        length: batch.length,
        gamma: this.cfg.gamma,
        lambda: this.cfg.gaeLambda,
      });
      // uint8 frames stay bytes (a quarter of the memory); the network widens and scales them at its input.
      const masks = (batch.columns[ACTION_MASK] as Uint8Array | undefined) ?? null;
      return { obs: batch.obs, actions: batch.actions, logp: batch.columns.logp as Float32Array, values, advantages, returns, masks };
    });
    const join = (k: Exclude<keyof (typeof parts)[0], 'obs' | 'masks'>) => concatFloat32(parts.map((p) => p[k]));
    const obs = parts.map((p) => p.obs);
    return {
      obs: concatObs(obs),
      actions: join('actions'),
      logp: join('logp'),
      values: join('values'),
      advantages: join('advantages'),
      returns: join('returns'),
      masks: this.opts.actionMask ? concatBytes(parts.map((p) => p.masks!)) : null,
      sequences: this.sequences(batches),
    };
  }

  /** A recurrent network's rows as sequences (`cutSequences`) with the state each row acted from; null for a feed-forward one. */
  private sequences(batches: TrajectoryBatch[]): PpoRollout['sequences'] {
    const cell = this.net.cell;
    if (!cell) return null;
    let offset = 0;
    const parts: SequencePart[] = batches.map((b) => {
      const part = { offset, numEnvs: b.numEnvs, length: b.length, terminated: b.terminated, truncated: b.truncated };
      offset += b.numEnvs * b.length;
      return part;
    });
    const states = cell.stateNames.map((name) => concatFloat32(batches.map((b) => b.columns[stateColumn(name)] as Float32Array)));
    return { index: cutSequences(parts, this.cfg.sequenceLength), sequenceLength: this.cfg.sequenceLength, states };
  }

  async getState(): Promise<AlgorithmState> {
    const tensors = [...weightsToState(this.net.getWeights()), ...(await optimizerToState(this.optimizer))];
    return { tensors, json: { rng: this.rng.getState() } };
  }

  async setState(state: AlgorithmState): Promise<void> {
    this.net.setWeights(weightsFromState(state));
    await optimizerFromState(this.optimizer, state.tensors);
    this.rng.setState(state.json.rng as number[]);
  }

  dispose(): void {
    this.net.dispose();
    this.optimizer.dispose();
  }
}
