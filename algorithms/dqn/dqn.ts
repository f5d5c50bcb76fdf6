import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { weightsFromState, weightsToState, type Algorithm, type AlgorithmModule, type AlgorithmState, type ConfigIssue, type CreateOptions, type NamedTensor, type PolicySpec, type TrajectoryBatch, type UpdateContext, type Weights } from '../../core/algorithm';
import { ConfigError } from '../../core/errors';
import { Rng, deriveSeed } from '../../core/rng';
import { nStepTransitions } from '../common/nstep';
import { EPSILON, QNetwork, QPolicy } from './q-network';
import { ReplayBuffer } from '../common/replay';
import { clipByGlobalNorm, concatFloat32, optimizerFromState, optimizerToState } from '../common/util';

/** DQN's settings (the `dqn:` section of a config). */
export const dqnConfigSchema = z
  .object({
    lr: z.number().positive().max(1).default(1e-3).describe('Adam step size'),
    gamma: z.number().min(0).max(1).default(0.99).describe('discount factor'),
    batchSize: z.number().int().positive().default(64).describe('transitions per gradient step'),
    bufferSize: z.number().int().positive().default(100_000).describe('replay buffer capacity, in transitions'),
    learningStarts: z.number().int().min(0).default(1000).describe('transitions in the buffer before the first gradient step'),
    trainFrequency: z.number().positive().default(4).describe('env steps per gradient step (0.5: two gradient steps per env step)'),
    gradientStepsPerBatch: z.number().int().positive().nullable().default(null).describe('gradient steps per batch received, instead of trainFrequency; null: use trainFrequency'),
    targetUpdateInterval: z.number().int().positive().default(500).describe('gradient steps between target-network updates'),
    tau: z.number().positive().max(1).default(1).describe('target update: target <- tau * online + (1 - tau) * target; 1: hard copy'),
    doubleQ: z.boolean().default(true).describe('double DQN: the online network picks the next action, the target network values it'),
    dueling: z.boolean().default(false).describe('dueling head: Q = V + A - mean(A)'),
    huberDelta: z.number().positive().default(1).describe('Huber loss threshold on the TD error'),
    maxGradNorm: z.number().positive().default(10).describe('global gradient-norm clip'),
    nStep: z.number().int().positive().default(1).describe('steps summed in each return before bootstrapping'),
    epsilonStart: z.number().min(0).max(1).default(1).describe('exploration rate at the start'),
    epsilonEnd: z.number().min(0).max(1).default(0.05).describe('exploration rate after the schedule'),
    epsilonFraction: z.number().positive().max(1).default(0.1).describe('fraction of stop.envSteps over which epsilon falls linearly'),
    perWorkerEpsilon: z
      .object({
        base: z.number().positive().max(1).default(0.4).describe('Ape-X base rate'),
        alpha: z.number().min(0).default(7).describe('Ape-X exponent spread'),
      })
      .strict()
      .nullable()
      .default(null)
      .describe('Ape-X: worker i of N explores with base^(1 + alpha * i / (N - 1)), fixed, instead of the schedule; null: the schedule'),
    prioritizedReplay: z.boolean().default(false).describe('sample transitions by priority |TD error|^alpha'),
    priorityAlpha: z.number().min(0).default(0.6).describe('prioritized replay: how much priorities count (0: uniform)'),
    priorityBetaStart: z.number().min(0).max(1).default(0.4).describe('prioritized replay: importance-weight exponent at the start, annealed to 1 over stop.envSteps'),
    priorityEps: z.number().positive().default(1e-6).describe('prioritized replay: added to |TD error| so no transition gets priority 0'),
    weightSyncInterval: z.number().int().positive().default(8).describe('gradient steps between weight broadcasts to the workers'),
    stepsPerIteration: z.number().int().positive().default(1000).describe('env steps per iteration (one progress line, evaluation and checkpoint tick)'),
    checkpointReplayBuffer: z.boolean().default(false).describe('save the replay buffer in checkpoints (large), so a resumed run continues exactly'),
  })
  .strict();

export type DqnConfig = z.infer<typeof dqnConfigSchema>;

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
  createPolicy(spec, ctx) {
    const cfg = spec.config as DqnConfig;
    // Ape-X: the rate follows the worker's slot (a restarted worker keeps its slot's rate).
    const fixed = cfg.perWorkerEpsilon && ctx ? apexEpsilon(ctx.slot, ctx.numSlots, cfg.perWorkerEpsilon.base, cfg.perWorkerEpsilon.alpha) : null;
    return new QPolicy(spec, cfg.dueling, fixed);
  },
};

/** Sums of one iteration's gradient steps, for its metrics. */
interface IterationStats {
  iteration: number;
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
  readonly mode = 'async' as const;
  readonly trainBatchSize: number;
  readonly maxPolicyLag = 0; // not used in async mode: lag is reported, never limited
  readonly consoleMetrics: [string, string][] = [
    ['loss', 'loss'],
    ['qMean', 'q'],
    ['epsilon', 'eps'],
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
  private stats: IterationStats = { iteration: 0, gradientSteps: 0, loss: 0, qMean: 0, tdError: 0 };

  constructor(private readonly opts: CreateOptions<DqnConfig>) {
    const cfg = (this.cfg = opts.config);
    if (opts.actionSpace.type !== 'Discrete') throw new ConfigError(`algorithm: dqn needs a Discrete action space; this env's actions are Box(shape=[${opts.actionSpace.shape}]) (use ppo)`);
    this.trainBatchSize = cfg.stepsPerIteration;
    this.totalEnvSteps = opts.totalEnvSteps ?? Infinity;
    // The same seed: the target starts as a copy of the online network.
    this.online = new QNetwork(opts, opts.model, cfg.dueling, deriveSeed(opts.seed, 1));
    this.target = new QNetwork(opts, opts.model, cfg.dueling, deriveSeed(opts.seed, 1));
    this.optimizer = tf.train.adam(cfg.lr, 0.9, 0.999, 1e-8);
    this.rng = new Rng(deriveSeed(opts.seed, 2));
    this.buffer = new ReplayBuffer(cfg.bufferSize, this.online.obsSize, cfg.prioritizedReplay ? { alpha: cfg.priorityAlpha, eps: cfg.priorityEps } : null);
    this.epsilon = this.scheduledEpsilon(0);
  }

  policySpec(): PolicySpec {
    const { observationSpace, actionSpace, model, config } = this.opts;
    return { algorithm: 'dqn', observationSpace, actionSpace, model, config, extras: [] };
  }

  /** The online network's weights, and the exploration rate the workers should use. */
  getWeights(): Weights {
    return [...this.online.getWeights(), { name: EPSILON, shape: [1], data: Float32Array.of(this.epsilon) }];
  }

  syncDue(): boolean {
    const due = this.gradientSteps - this.syncedAt.gradientSteps >= this.cfg.weightSyncInterval || Math.abs(this.epsilon - this.syncedAt.epsilon) >= 0.01;
    if (due) this.syncedAt = { gradientSteps: this.gradientSteps, epsilon: this.epsilon };
    return due;
  }

  async update(batches: TrajectoryBatch[], ctx: UpdateContext): Promise<Record<string, number>> {
    const cfg = this.cfg;
    let steps = 0;
    for (const b of batches) {
      this.buffer.add(nStepTransitions(b, cfg.nStep, cfg.gamma));
      steps += b.numEnvs * b.length;
    }
    this.epsilon = this.scheduledEpsilon(ctx.envSteps);
    if (this.stats.iteration !== ctx.iteration) this.stats = { iteration: ctx.iteration, gradientSteps: 0, loss: 0, qMean: 0, tdError: 0 };

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

  /**
   * One gradient step on a sampled minibatch; updates the target network when due. The
   * gradient of mean(w * huber(Q(s, a) - y)) is written out (`QNetwork.backward`) rather than
   * taped: same numbers (a test compares them with tfjs' autodiff), half the kernels.
   */
  private gradientStep(beta: number): void {
    const cfg = this.cfg;
    const B = cfg.batchSize;
    const A = this.online.numActions;
    const d = this.online.obsSize;
    const delta = cfg.huberDelta;
    const s = this.buffer.sample(B, this.rng, beta);
    const oneHot = new Float32Array(B * A);
    for (let j = 0; j < B; j++) oneHot[j * A + s.actions[j]] = 1;
    // Double DQN: the online network also picks the next actions, in the same forward pass.
    const rows = cfg.doubleQ ? 2 * B : B;
    const x = cfg.doubleQ ? concatFloat32([s.obs, s.nextObs]) : s.obs;

    const targetP = (this.targetP ??= tf.tidy(() => this.target.params.unpack()));
    const theta = this.online.params.variable;
    let out: tf.Tensor | undefined;
    tf.tidy(() => {
      const obs = tf.tensor2d(x, [rows, d]);
      const actions = tf.tensor2d(oneHot, [B, A]);
      const qNextTarget = this.target.forward(targetP, tf.tensor2d(s.nextObs, [B, d]), true);
      const weights = cfg.prioritizedReplay ? tf.tensor1d(s.weights) : null; // uniform: all 1
      /** Q(s, a) and the TD errors, from the online network's Q-values of [obs; nextObs]. */
      const tdErrors = (qAll: tf.Tensor2D) => {
        const q = cfg.doubleQ ? tf.slice(qAll, [0, 0], [B, A]) : qAll;
        const qNextOnline = cfg.doubleQ ? tf.slice(qAll, [B, 0], [B, A]) : null;
        const qsa = tf.sum(tf.mul(q, actions), 1);
        const td = tf.sub(qsa, qTargets(tf.tensor1d(s.rewards), tf.tensor1d(s.discounts), qNextTarget, qNextOnline));
        out = tf.keep(tf.concat([qsa, td]));
        return td;
      };
      let grad: tf.Tensor;
      if (!this.online.encoder) {
        const p = this.online.params.unpack();
        const { q, rec } = this.online.forwardRecorded(p, obs);
        const td = tdErrors(q);
        // d/dQ(s,a) of mean(w * huber(td)): w * clip(td, -delta, delta) / B; nothing flows into the targets.
        let dqsa = tf.mul(tf.clipByValue(td, -delta, delta), 1 / B);
        if (weights) dqsa = tf.mul(dqsa, weights);
        grad = this.online.backward(p, rec, tf.mul(actions, tf.reshape(dqsa, [B, 1])) as tf.Tensor2D, B);
      } else {
        // Conv layers: through the tape (argmax passes no gradient into the targets).
        const { grads } = tf.variableGrads(() => {
          const td = tdErrors(this.online.forward(this.online.params.unpack(), obs));
          const abs = tf.abs(td);
          const c = tf.minimum(abs, delta);
          const huber = tf.add(tf.mul(0.5, tf.square(c)), tf.mul(delta, tf.sub(abs, c)));
          return tf.mean(weights ? tf.mul(weights, huber) : huber) as tf.Scalar;
        }, [theta]);
        grad = grads[theta.name];
      }
      const clipped = clipByGlobalNorm({ [theta.name]: grad }, cfg.maxGradNorm);
      this.optimizer.applyGradients(clipped as unknown as Parameters<tf.AdamOptimizer['applyGradients']>[0]);
    });
    const values = out!.dataSync() as Float32Array;
    out!.dispose();
    const qsa = values.subarray(0, B);
    const td = values.subarray(B);
    this.buffer.updatePriorities(s.index, td);
    let loss = 0;
    let qSum = 0;
    let tdAbs = 0;
    for (let j = 0; j < B; j++) {
      const a = Math.abs(td[j]);
      const c = Math.min(a, delta);
      loss += s.weights[j] * (0.5 * c * c + delta * (a - c));
      qSum += qsa[j];
      tdAbs += a;
    }
    this.stats.loss += loss / B;
    this.stats.qMean += qSum / B;
    this.stats.tdError += tdAbs / B;
    this.stats.gradientSteps += 1;
    this.gradientSteps += 1;
    if (this.gradientSteps % cfg.targetUpdateInterval === 0) this.updateTarget();
  }

  private updateTarget(): void {
    this.dropTargetP();
    const tau = this.cfg.tau;
    const online = this.online.params.variable;
    const target = this.target.params.variable;
    tf.tidy(() => target.assign(tau === 1 ? online : tf.add(tf.mul(online, tau), tf.mul(target, 1 - tau))));
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
      ...weightsToState(this.getWeights()),
      ...this.target.getWeights().map((w) => ({ ...w, name: `target/${w.name}` })),
      ...(await optimizerToState(this.optimizer)),
    ];
    const json: Record<string, unknown> = { rng: this.rng.getState(), gradientSteps: this.gradientSteps, credit: this.credit, syncedAt: this.syncedAt, epsilon: this.epsilon };
    if (this.cfg.checkpointReplayBuffer) {
      const b = this.buffer;
      const { priorities, ...meta } = b.getState();
      json.replay = meta;
      tensors.push(
        { name: 'replay/obs', shape: [b.capacity, b.obsSize], data: b.obs },
        { name: 'replay/nextObs', shape: [b.capacity, b.obsSize], data: b.nextObs },
        { name: 'replay/actions', shape: [b.capacity], data: Float32Array.from(b.actions) },
        { name: 'replay/rewards', shape: [b.capacity], data: b.rewards },
        { name: 'replay/discounts', shape: [b.capacity], data: b.discounts },
      );
      if (priorities) tensors.push({ name: 'replay/priorities', shape: [b.capacity], data: priorities });
    }
    return { tensors, json };
  }

  async setState(state: AlgorithmState): Promise<void> {
    const byName = new Map(state.tensors.map((t) => [t.name, t]));
    this.online.setWeights(weightsFromState(state));
    this.dropTargetP();
    this.target.setWeights(state.tensors.filter((t) => t.name.startsWith('target/')).map((t) => ({ ...t, name: t.name.slice('target/'.length) })));
    await optimizerFromState(this.optimizer, state.tensors);
    const j = state.json as { rng: number[]; gradientSteps: number; credit: number; syncedAt: { gradientSteps: number; epsilon: number }; epsilon: number; replay?: { size: number; position: number; maxPriority: number } };
    this.rng.setState(j.rng);
    this.gradientSteps = j.gradientSteps;
    this.credit = j.credit;
    this.syncedAt = j.syncedAt;
    this.epsilon = j.epsilon;
    const obs = byName.get('replay/obs');
    if (j.replay && obs) {
      const b = this.buffer;
      if (obs.data.length !== b.obs.length) throw new ConfigError(`the checkpoint's replay buffer holds ${obs.shape[0]} transitions of ${obs.shape[1]} values; this run's holds ${b.capacity} of ${b.obsSize} (dqn.bufferSize)`);
      b.obs.set(obs.data);
      b.nextObs.set(byName.get('replay/nextObs')!.data);
      b.actions.set(byName.get('replay/actions')!.data);
      b.rewards.set(byName.get('replay/rewards')!.data);
      b.discounts.set(byName.get('replay/discounts')!.data);
      b.setState({ ...j.replay, priorities: byName.get('replay/priorities')?.data ?? null });
    }
  }

  dispose(): void {
    this.dropTargetP();
    this.online.dispose();
    this.target.dispose();
    this.optimizer.dispose();
  }
}

/**
 * TD targets r + discount * Q'(s', a'), where a' is the target network's best action, or with
 * `qNextOnline` (double DQN) the online network's best action, valued by the target network.
 */
export function qTargets(rewards: tf.Tensor1D, discounts: tf.Tensor1D, qNextTarget: tf.Tensor2D, qNextOnline: tf.Tensor | null): tf.Tensor1D {
  const nextQ = qNextOnline ? tf.sum(tf.mul(qNextTarget, tf.oneHot(tf.argMax(qNextOnline, 1), qNextTarget.shape[1])), 1) : tf.max(qNextTarget, 1);
  return tf.add(rewards, tf.mul(discounts, nextQ));
}
