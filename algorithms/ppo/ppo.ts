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
  policySpec: (opts) =>
    policySpecOf(opts, {
      algorithm: 'ppo',
      columns: [
        { name: 'logp', dtype: 'float32', shape: [] },
        { name: 'value', dtype: 'float32', shape: [] },
      ],
    }),
  createPolicy: (spec, ctx) => new ActorCriticPolicy(spec, (spec.config as PpoConfig).initLogStd, ctx?.engine),
  weightShapes: (spec) => ActorCritic.shapesOf(spec),
  // The policy tower and its head; the value tower and the log-std are not on the greedy path.
  greedyPath: (spec, weight) => {
    const w = weight('pi/out/w');
    return { body: spec.model.sharedLayers ? 'shared' : 'pi', head: { kind: spec.actionSpace.type === 'Discrete' ? 'logits' : 'mean', inputs: w.shape[0], outputs: w.shape[1], w: w.data, b: weight('pi/out/b').data } };
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

  /** Columns of all batches joined, with GAE advantages and returns computed per batch. */
  private postprocess(batches: TrajectoryBatch[]): PpoRollout {
    const net = this.net;
    const parts = batches.map((batch) => {
      const values = batch.columns.value as Float32Array;
      const n = batch.numEnvs;
      const rows = n * batch.length;
      // V of the states after the last step and after each truncation, in one forward pass.
      const bootObs = new Float32Array((n + batch.finalObs.index.length) * net.obsSize);
      bootObs.set(batch.nextObs);
      bootObs.set(batch.finalObs.obs, batch.nextObs.length);
      const boot = tf.tidy(() => net.value(tf.tensor2d(bootObs, [bootObs.length / net.obsSize, net.obsSize])).dataSync() as Float32Array);
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
    };
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
