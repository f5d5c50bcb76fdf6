import * as tf from '@tensorflow/tfjs';
import { DEFAULT_POLICY, policySpecOf, weightsFromState, weightsToState, type Algorithm, type AlgorithmModule, type AlgorithmState, type ConfigIssue, type CreateOptions, type MetricSpec, type NamedTensor, type ParamsById, type PolicySpec, type Schedule, type TrajectoryBatch, type UpdateContext } from '../../core/algorithm';
import { Rng } from '../../core/rng';
import { seedStreams } from '../../core/seed-streams';
import { FusedAdam } from '../common/fused-adam';
import { softUpdate } from '../common/flat-params';
import { nStepTransitions } from '../common/nstep';
import { EPSILON, QNetwork, QPolicy } from './q-network';
import { ReplayBuffer } from '../common/replay';
import { addReplay, weightsFrom, weightsUnder } from '../common/state';
import { optimizerFromState, optimizerToState } from '../common/optimizer';
import { dqnStep } from './step';
import { dqnGreedyPath } from './greedy';
import { dqnConfigSchema, type DqnConfig } from './config';

export { dqnConfigSchema, type DqnConfig };

/** Ape-X's exploration rate of worker `i` of `n`. */
export function apexEpsilon(i: number, n: number, base: number, alpha: number): number {
  return n <= 1 ? base : base ** (1 + (alpha * i) / (n - 1));
}

/** Linear from epsilonStart to epsilonEnd over the first epsilonFraction of `totalEnvSteps`, then flat. */
export function epsilonAt(cfg: Pick<DqnConfig, 'epsilonStart' | 'epsilonEnd' | 'epsilonFraction'>, envSteps: number, totalEnvSteps: number): number {
  const progress = envSteps / (cfg.epsilonFraction * totalEnvSteps);
  return progress >= 1 ? cfg.epsilonEnd : cfg.epsilonStart + progress * (cfg.epsilonEnd - cfg.epsilonStart);
}

export const dqn: AlgorithmModule<DqnConfig> = {
  name: 'dqn',
  configSchema: dqnConfigSchema,
  // Greedy and random actions among the legal ones; the target's max over the next state's legal actions.
  actionMasks: true,

  check(cfg, ctx): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    if (ctx.totalEnvSteps === undefined && cfg.perWorkerEpsilon === null) {
      issues.push({ path: 'epsilonFraction', message: `(${cfg.epsilonFraction}) is a fraction of stop.envSteps, which is not set` });
    }
    if (ctx.totalEnvSteps === undefined && cfg.prioritizedReplay) {
      issues.push({ path: 'priorityBetaStart', message: 'is annealed over stop.envSteps, which is not set' });
    }
    if (cfg.batchSize > cfg.bufferSize) issues.push({ path: 'batchSize', message: `(${cfg.batchSize}) must be <= bufferSize (${cfg.bufferSize})` });
    if (cfg.learningStarts > cfg.bufferSize) issues.push({ path: 'learningStarts', message: `(${cfg.learningStarts}) must be <= bufferSize (${cfg.bufferSize})` });
    return issues;
  },

  create: (opts) => new Dqn(opts),
  // A worker records nothing beyond the step itself: Q-learning needs no behaviour-policy numbers.
  policySpec: (opts) => policySpecOf(opts, { algorithm: 'dqn', columns: [] }),
  weightShapes: (spec) => QNetwork.shapesOf(spec, (spec.config as DqnConfig).dueling),
  createPolicy(spec, ctx) {
    const cfg = spec.config as DqnConfig;
    // Ape-X: the rate follows the worker's slot (a restarted worker keeps its slot's rate).
    const fixed = cfg.perWorkerEpsilon && ctx ? apexEpsilon(ctx.slot, ctx.numSlots, cfg.perWorkerEpsilon.base, cfg.perWorkerEpsilon.alpha) : null;
    return new QPolicy(spec, cfg.dueling, fixed, ctx?.engine);
  },
  greedyPath: (_spec, weight, has) => dqnGreedyPath(weight, has),
};

/** Sums over one update's gradient steps, for its metrics (the runtime reduces an iteration's updates). */
interface UpdateStats {
  gradientSteps: number;
  loss: number;
  qMean: number;
  tdError: number;
}

/**
 * Deep Q-learning (Mnih et al., 2015) with double Q-learning (van Hasselt et al., 2016), an
 * optional dueling head, n-step returns and prioritized replay. Off-policy: batches from any
 * worker, sampled by any recent weights, go into the replay buffer as they arrive
 * (`mode: 'async'`), and gradient steps follow at `trainFrequency`.
 */
export class Dqn implements Algorithm {
  readonly schedule: Schedule;
  readonly metrics: readonly MetricSpec[] = [
    { key: 'loss', group: 'train', reduce: 'mean', label: 'loss' },
    { key: 'qMean', group: 'train', reduce: 'mean', label: 'q' },
    { key: 'tdError', group: 'train', reduce: 'mean' },
    { key: 'epsilon', group: 'train', reduce: 'last', label: 'eps' },
    { key: 'gradientSteps', group: 'train', reduce: 'sum' },
    { key: 'totalGradientSteps', group: 'train', reduce: 'last' },
    { key: 'bufferSize', group: 'train', reduce: 'last' },
    { key: 'priorityBeta', group: 'train', reduce: 'last' },
  ];
  readonly buffer: ReplayBuffer;
  private readonly cfg: DqnConfig;
  private readonly online: QNetwork;
  private readonly target: QNetwork;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly rng: Rng;
  private readonly totalEnvSteps: number;
  private epsilon: number;
  private gradientSteps = 0;
  /** Env steps received and not yet paid for with gradient steps (trainFrequency). */
  private credit = 0;
  private syncedAt = { gradientSteps: 0, epsilon: NaN };
  /** The target network's tensors, unpacked once per target update rather than once per step. */
  private targetP: Record<string, tf.Tensor> | null = null;
  private stats: UpdateStats = { gradientSteps: 0, loss: 0, qMean: 0, tdError: 0 };

  constructor(private readonly opts: CreateOptions<DqnConfig>) {
    const cfg = (this.cfg = opts.config);
    this.schedule = { mode: 'async', stepsPerIteration: cfg.stepsPerIteration };
    this.totalEnvSteps = opts.totalEnvSteps ?? Infinity;
    const seeds = seedStreams(opts.seed);
    // The same seed: the target starts as a copy of the online network.
    this.online = new QNetwork(opts, opts.model, cfg.dueling, seeds.init);
    this.target = new QNetwork(opts, opts.model, cfg.dueling, seeds.init);
    this.optimizer = new FusedAdam(cfg.lr, 0.9, 0.999, 1e-8);
    this.rng = new Rng(seeds.learner);
    const uint8 = opts.observationSpace.type === 'Box' && opts.observationSpace.dtype === 'uint8';
    // With action masks, each transition keeps its next state's mask, for the target's max.
    this.buffer = new ReplayBuffer(cfg.bufferSize, this.online.obsSize, cfg.prioritizedReplay ? { alpha: cfg.priorityAlpha, eps: cfg.priorityEps } : null, uint8 ? 'uint8' : 'float32', { dtype: 'int32' }, opts.actionMask ? this.online.numActions : 0);
    this.epsilon = this.scheduledEpsilon(0);
  }

  policySpecs(): Record<string, PolicySpec> {
    return { [DEFAULT_POLICY]: dqn.policySpec(this.opts) };
  }

  /**
   * The online network's weights, and the exploration rate the workers should use as the named
   * scalar `epsilon`: part of the behaviour policy, so it changes exactly when a `policyVersion`
   * does, riding the one versioned message with the weights. `rl evaluate` acts greedily and
   * never reads it.
   */
  getParams(): ParamsById {
    return { [DEFAULT_POLICY]: { weights: this.online.getWeights(), scalars: { [EPSILON]: this.epsilon } } };
  }

  /** Every `weightSyncInterval` gradient steps, or sooner when epsilon has moved by 0.01 since the last broadcast. */
  syncDue(): boolean {
    return this.gradientSteps - this.syncedAt.gradientSteps >= this.cfg.weightSyncInterval || Math.abs(this.epsilon - this.syncedAt.epsilon) >= 0.01;
  }

  weightsBroadcast(): void {
    this.syncedAt = { gradientSteps: this.gradientSteps, epsilon: this.epsilon };
  }

  async update(batches: TrajectoryBatch[], ctx: UpdateContext): Promise<Record<string, number>> {
    const cfg = this.cfg;
    let steps = 0;
    for (const b of batches) {
      this.buffer.add(nStepTransitions(b, cfg.nStep, cfg.gamma));
      steps += b.numEnvs * b.length;
    }
    this.epsilon = this.scheduledEpsilon(ctx.envSteps);
    this.stats = { gradientSteps: 0, loss: 0, qMean: 0, tdError: 0 };

    let todo = 0;
    if (this.buffer.size >= Math.max(cfg.learningStarts, 1)) {
      if (cfg.gradientStepsPerBatch !== null) todo = cfg.gradientStepsPerBatch * batches.length;
      else {
        this.credit += steps;
        todo = Math.floor(this.credit / cfg.trainFrequency);
        this.credit -= todo * cfg.trainFrequency;
      }
    }
    const beta = cfg.priorityBetaStart + Math.min(1, ctx.envSteps / this.totalEnvSteps) * (1 - cfg.priorityBetaStart);
    for (let i = 0; i < todo; i++) this.gradientStep(beta);

    const s = this.stats;
    const metrics: Record<string, number> = { epsilon: this.epsilon, bufferSize: this.buffer.size, gradientSteps: s.gradientSteps, totalGradientSteps: this.gradientSteps };
    if (s.gradientSteps > 0) Object.assign(metrics, { loss: s.loss / s.gradientSteps, qMean: s.qMean / s.gradientSteps, tdError: s.tdError / s.gradientSteps });
    if (cfg.prioritizedReplay) metrics.priorityBeta = beta;
    return metrics;
  }

  /** One gradient step (`dqnStep`) on a sampled minibatch; new priorities; the target network updated when due. */
  private gradientStep(beta: number): void {
    const cfg = this.cfg;
    const s = this.buffer.sample(cfg.batchSize, this.rng, beta);
    const targetP = (this.targetP ??= tf.tidy(() => this.target.params.unpack()));
    const where = () => `gradient step ${this.gradientSteps + 1}`;
    const { metrics, td } = dqnStep({ online: this.online, target: this.target, targetP }, this.optimizer, s, cfg, { algorithm: 'dqn', where });
    this.buffer.updatePriorities(s.index, td);
    this.stats.loss += metrics.loss;
    this.stats.qMean += metrics.qMean;
    this.stats.tdError += metrics.tdError;
    this.stats.gradientSteps += 1;
    this.gradientSteps += 1;
    if (this.gradientSteps % cfg.targetUpdateInterval === 0) this.updateTarget();
  }

  private updateTarget(): void {
    this.dropTargetP();
    softUpdate(this.target.params, this.online.params, this.cfg.tau);
  }

  private dropTargetP(): void {
    if (this.targetP) tf.dispose(Object.values(this.targetP));
    this.targetP = null;
  }

  private scheduledEpsilon(envSteps: number): number {
    if (this.cfg.perWorkerEpsilon !== null) {
      // Each worker has its own fixed rate; the one reported is their mean.
      const n = Math.max(1, this.opts.numWorkers ?? 0);
      let sum = 0;
      for (let i = 0; i < n; i++) sum += apexEpsilon(i, n, this.cfg.perWorkerEpsilon.base, this.cfg.perWorkerEpsilon.alpha);
      return sum / n;
    }
    return epsilonAt(this.cfg, envSteps, this.totalEnvSteps);
  }

  async getState(): Promise<AlgorithmState> {
    const tensors: NamedTensor[] = [
      ...weightsToState(this.online.getWeights()),
      ...weightsUnder('target/', this.target.getWeights()),
      ...(await optimizerToState(this.optimizer)),
    ];
    const state = { tensors, json: { rng: this.rng.getState(), gradientSteps: this.gradientSteps, credit: this.credit, syncedAt: this.syncedAt, epsilon: this.epsilon } };
    return this.cfg.checkpointReplayBuffer ? addReplay(state, this.buffer) : state;
  }

  async setState(state: AlgorithmState): Promise<void> {
    this.online.setWeights(weightsFromState(state));
    this.dropTargetP();
    this.target.setWeights(weightsFrom('target/', state.tensors));
    await optimizerFromState(this.optimizer, state.tensors);
    const j = state.json as { rng: number[]; gradientSteps: number; credit: number; syncedAt: { gradientSteps: number; epsilon: number }; epsilon: number; replay?: { size: number; position: number; maxPriority: number } };
    this.rng.setState(j.rng);
    this.gradientSteps = j.gradientSteps;
    this.credit = j.credit;
    this.syncedAt = j.syncedAt;
    this.epsilon = j.epsilon;
    this.buffer.fromState(state.tensors, j.replay, 'dqn.bufferSize');
  }

  dispose(): void {
    this.dropTargetP();
    this.online.dispose();
    this.target.dispose();
    this.optimizer.dispose();
  }
}
