import * as tf from '@tensorflow/tfjs';
import { DEFAULT_POLICY, policySpecOf, weightsFromState, weightsToState, type Algorithm, type AlgorithmModule, type AlgorithmState, type ConfigIssue, type CreateOptions, type MetricSpec, type NamedTensor, type ParamsById, type PolicySpec, type Schedule, type TrajectoryBatch } from '../../core/algorithm';
import { deriveSeed, Rng } from '../../core/rng';
import { seedStreams } from '../../core/seed-streams';
import { FlatParams, softUpdate } from '../common/flat-params';
import { FusedAdam } from '../common/fused-adam';
import { gradientStep, type StepResult } from '../common/gradient-step';
import { nStepTransitions } from '../common/nstep';
import { optimizerFromState, optimizerToState, type StepPlace } from '../common/optimizer';
import { ReplayBuffer, type Sampled } from '../common/replay';
import { addReplay, weightsFrom, weightsUnder } from '../common/state';
import { sacConfigSchema, type SacConfig } from './config';
import { actorLoss, alphaLoss, criticLoss, softQTargets, type ActorMetric, type CriticMetric, type SacBatch } from './loss';
import { SquashedGaussianActor, TwinCritic } from './networks';
import { sacPolicyState, SquashedGaussianPolicy, UNIFORM_ACTIONS } from './policy';

export { sacConfigSchema, type SacConfig };

export const sac: AlgorithmModule<SacConfig> = {
  name: 'sac',
  configSchema: sacConfigSchema,

  check(cfg): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    if (cfg.batchSize > cfg.bufferSize) issues.push({ path: 'batchSize', message: `(${cfg.batchSize}) must be <= bufferSize (${cfg.bufferSize})` });
    // No rule for learningStarts: it counts env steps over the run, not transitions held, so it may exceed bufferSize (as SB3 allows).
    return issues;
  },

  create: (opts) => new Sac(opts),
  // A worker records nothing beyond the step: the action it took is u, before tanh, which the stepper squashes and scales.
  // With noiseRepeat > 1 its policy carries the draws it holds as recurrent state (`sacPolicyState`).
  policySpec: (opts) => policySpecOf(opts, { algorithm: 'sac', columns: [], boxActions: 'squash', state: sacPolicyState(opts.config, opts.actionSpace) }),
  weightShapes: (spec) => SquashedGaussianActor.shapesOf(spec),
  createPolicy: (spec, ctx) => new SquashedGaussianPolicy(spec, ctx?.engine),
  // The actor's body and its mean head: the greedy action is tanh(mean), scaled to the bounds (the export's `squash`).
  greedyPath: (_spec, weight) => {
    const w = weight('pi/mean/w');
    return { body: 'pi', head: { kind: 'mean', inputs: w.shape[0], outputs: w.shape[1], w: w.data, b: weight('pi/mean/b').data } };
  },
};

/** Sums over one update's gradient steps, for its metrics (the runtime reduces an iteration's updates). */
type UpdateStats = Record<CriticMetric | ActorMetric | 'alphaLoss' | 'gradientSteps', number>;

const emptyStats = (): UpdateStats => ({ criticLoss: 0, qMean: 0, actorLoss: 0, entropy: 0, alphaLoss: 0, gradientSteps: 0 });

/**
 * Soft Actor-Critic (Haarnoja et al. 2018) for Box actions: twin Q-networks and their
 * Polyak-averaged targets, a tanh-squashed Gaussian actor, and an entropy temperature alpha,
 * fixed or learned toward a target entropy. Off-policy on the async schedule, as DQN: batches
 * from any worker go into the replay buffer as they arrive, `gradientSteps` gradient steps
 * follow per env step, and the actor's weights reach the workers every `weightSyncInterval`
 * gradient steps. Each gradient step: the critic, then the actor (on the updated critic), then
 * the temperature, then the targets when due (`loss.ts` states the losses).
 */
export class Sac implements Algorithm {
  readonly schedule: Schedule;
  readonly metrics: readonly MetricSpec[] = [
    { key: 'criticLoss', group: 'train', reduce: 'mean', label: 'qf' },
    { key: 'actorLoss', group: 'train', reduce: 'mean', label: 'pi' },
    { key: 'alpha', group: 'train', reduce: 'last', label: 'alpha' },
    { key: 'entropy', group: 'train', reduce: 'mean', label: 'ent' },
    { key: 'qMean', group: 'train', reduce: 'mean' },
    { key: 'alphaLoss', group: 'train', reduce: 'mean' },
    { key: 'gradientSteps', group: 'train', reduce: 'sum' },
    { key: 'totalGradientSteps', group: 'train', reduce: 'last' },
    { key: 'bufferSize', group: 'train', reduce: 'last' },
  ];
  readonly buffer: ReplayBuffer<Float32Array>;
  private readonly cfg: SacConfig;
  private readonly actor: SquashedGaussianActor;
  private readonly critic: TwinCritic;
  private readonly target: TwinCritic;
  /** log(alpha), one number, with its own optimizer when learned. */
  private readonly logAlpha = new FlatParams();
  private readonly actorOptimizer: tf.AdamOptimizer;
  private readonly criticOptimizer: tf.AdamOptimizer;
  private readonly alphaOptimizer: tf.AdamOptimizer;
  private readonly targetEntropy: number;
  private readonly rng: Rng;
  private alpha: number;
  private gradientSteps = 0;
  /** Env steps received over the run (a resumed run's included): the warm-up lasts `learningStarts` of them. */
  private received = 0;
  /** Gradient steps earned by env steps received and not yet taken (`gradientSteps` per env step). */
  private credit = 0;
  private syncedAt = { gradientSteps: 0, uniform: true };
  private stats = emptyStats();

  constructor(private readonly opts: CreateOptions<SacConfig>) {
    const cfg = (this.cfg = opts.config);
    this.schedule = { mode: 'async', stepsPerIteration: cfg.stepsPerIteration };
    const seeds = seedStreams(opts.seed);
    this.actor = new SquashedGaussianActor(opts, opts.model, seeds.init, cfg.initLogStd);
    // One seed for both critics: the target starts as a copy.
    const criticSeed = deriveSeed(seeds.init, 1);
    this.critic = new TwinCritic(opts, opts.model, criticSeed);
    this.target = new TwinCritic(opts, opts.model, criticSeed);
    this.logAlpha.add('logAlpha', [1], Float32Array.of(Math.log(cfg.alpha)));
    this.alpha = this.currentAlpha();
    this.actorOptimizer = new FusedAdam(cfg.actorLr, 0.9, 0.999, 1e-8);
    this.criticOptimizer = new FusedAdam(cfg.criticLr, 0.9, 0.999, 1e-8);
    this.alphaOptimizer = new FusedAdam(cfg.alphaLr, 0.9, 0.999, 1e-8);
    this.targetEntropy = cfg.targetEntropy ?? -this.actor.actionSize;
    this.rng = new Rng(seeds.learner);
    const uint8 = opts.observationSpace.type === 'Box' && opts.observationSpace.dtype === 'uint8';
    this.buffer = new ReplayBuffer<Float32Array>(cfg.bufferSize, this.actor.obsSize, null, uint8 ? 'uint8' : 'float32', { dtype: 'float32', size: this.actor.actionSize });
  }

  policySpecs(): Record<string, PolicySpec> {
    return { [DEFAULT_POLICY]: sac.policySpec(this.opts) };
  }

  /** The actor's weights, and `uniformActions` 1 while the run has received fewer than `learningStarts` env steps (the workers' warm-up). */
  getParams(): ParamsById {
    return { [DEFAULT_POLICY]: { weights: this.actor.getWeights(), scalars: { [UNIFORM_ACTIONS]: this.warmingUp ? 1 : 0 } } };
  }

  /** Every `weightSyncInterval` gradient steps, and when the warm-up ends. */
  syncDue(): boolean {
    return this.gradientSteps - this.syncedAt.gradientSteps >= this.cfg.weightSyncInterval || this.warmingUp !== this.syncedAt.uniform;
  }

  weightsBroadcast(): void {
    this.syncedAt = { gradientSteps: this.gradientSteps, uniform: this.warmingUp };
  }

  private get warmingUp(): boolean {
    return this.received < this.cfg.learningStarts;
  }

  async update(batches: TrajectoryBatch[]): Promise<Record<string, number>> {
    const cfg = this.cfg;
    let steps = 0;
    for (const b of batches) {
      this.buffer.add(nStepTransitions(b, 1, cfg.gamma, 'float32'));
      steps += b.numEnvs * b.length;
    }
    this.received += steps;
    this.stats = emptyStats();
    let todo = 0;
    // After the warm-up, and (a run resumed without its buffer) once the buffer holds a minibatch.
    if (!this.warmingUp && this.buffer.size >= cfg.batchSize) {
      this.credit += steps * cfg.gradientSteps;
      todo = Math.floor(this.credit);
      this.credit -= todo;
    }
    for (let i = 0; i < todo; i++) this.gradientStep();

    const s = this.stats;
    const metrics: Record<string, number> = { alpha: this.alpha, bufferSize: this.buffer.size, gradientSteps: s.gradientSteps, totalGradientSteps: this.gradientSteps };
    if (s.gradientSteps > 0) {
      for (const k of ['criticLoss', 'qMean', 'actorLoss', 'entropy'] as const) metrics[k] = s[k] / s.gradientSteps;
      if (cfg.learnAlpha) metrics.alphaLoss = s.alphaLoss / s.gradientSteps;
    }
    return metrics;
  }

  /** One gradient step of each network on one sampled minibatch, then the targets' Polyak step when due. */
  private gradientStep(): void {
    const cfg = this.cfg;
    const s = this.buffer.sample(cfg.batchSize, this.rng);
    const noise = { next: this.normals(s.rewards.length), now: this.normals(s.rewards.length) };
    const clip = cfg.maxGradNorm ?? Infinity;
    const place = (network: string): StepPlace => ({ algorithm: 'sac', where: () => `gradient step ${this.gradientSteps + 1} (${network})` });
    let critic: StepResult<CriticMetric> | undefined;
    let actor: StepResult<ActorMetric> | undefined;
    tf.tidy(() => {
      const mb = this.minibatch(s, noise);
      critic = gradientStep((p) => criticLoss(this.critic, p, mb), this.critic.params, this.criticOptimizer, clip, place('critic'));
      const criticP = this.critic.params.unpack(); // after its step: the actor climbs the updated Q
      actor = gradientStep((p) => actorLoss(this.actor, p, this.critic, criticP, mb, this.alpha), this.actor.params, this.actorOptimizer, clip, place('actor'));
    });
    const st = this.stats;
    st.criticLoss += critic!.metrics.criticLoss;
    st.qMean += critic!.metrics.qMean;
    st.actorLoss += actor!.metrics.actorLoss;
    st.entropy += actor!.metrics.entropy;
    if (cfg.learnAlpha) {
      const entropy = actor!.metrics.entropy;
      const r = gradientStep((p) => alphaLoss(p.logAlpha, entropy, this.targetEntropy), this.logAlpha, this.alphaOptimizer, clip, place('temperature'));
      st.alphaLoss += r.metrics.alphaLoss;
      this.alpha = this.currentAlpha();
    }
    st.gradientSteps += 1;
    this.gradientSteps += 1;
    if (this.gradientSteps % cfg.targetUpdateInterval === 0) softUpdate(this.target.params, this.critic.params, cfg.tau);
  }

  /** The sample as tensors: the replayed actions squashed, and the TD targets from the target networks (no gradient flows into them). */
  private minibatch(s: Sampled<Float32Array>, noise: { next: Float32Array; now: Float32Array }): SacBatch {
    const B = s.rewards.length;
    const d = this.actor.obsSize;
    const A = this.actor.actionSize;
    const next = { obs: tf.tensor2d(s.nextObs, [B, d], 'float32'), noise: tf.tensor2d(noise.next, [B, A]), rewards: tf.tensor1d(s.rewards), discounts: tf.tensor1d(s.discounts) };
    const nets = { actor: this.actor, actorP: this.actor.params.unpack(), target: this.target, targetP: this.target.params.unpack() };
    return {
      obs: tf.tensor2d(s.obs, [B, d], 'float32'),
      actions: tf.tensor2d(s.actions.map(Math.tanh), [B, A]),
      qTarget: softQTargets(nets, next, this.alpha),
      noise: tf.tensor2d(noise.now, [B, A]),
    };
  }

  /** The temperature: exp(log alpha) when learned, else the config's as it is. */
  private currentAlpha(): number {
    return this.cfg.learnAlpha ? Math.exp(this.logAlpha.variable.dataSync()[0]) : this.cfg.alpha;
  }

  /** Standard normal noise for `rows` actions, from the learner's generator (so that a resumed run draws the same). */
  private normals(rows: number): Float32Array {
    return Float32Array.from({ length: rows * this.actor.actionSize }, () => this.rng.normal());
  }

  async getState(): Promise<AlgorithmState> {
    const tensors: NamedTensor[] = [
      ...weightsToState(this.actor.getWeights()),
      ...weightsUnder('critic/', this.critic.getWeights()),
      ...weightsUnder('target/', this.target.getWeights()),
      ...this.logAlpha.getWeights(),
      ...(await optimizerToState(this.actorOptimizer, 'actorOptimizer')),
      ...(await optimizerToState(this.criticOptimizer, 'criticOptimizer')),
      ...(await optimizerToState(this.alphaOptimizer, 'alphaOptimizer')),
    ];
    const state = { tensors, json: { rng: this.rng.getState(), gradientSteps: this.gradientSteps, received: this.received, credit: this.credit, syncedAt: this.syncedAt } };
    return this.cfg.checkpointReplayBuffer ? addReplay(state, this.buffer) : state;
  }

  async setState(state: AlgorithmState): Promise<void> {
    this.actor.setWeights(weightsFromState(state));
    this.critic.setWeights(weightsFrom('critic/', state.tensors));
    this.target.setWeights(weightsFrom('target/', state.tensors));
    this.logAlpha.setWeights(state.tensors.filter((t) => t.name === 'logAlpha'));
    this.alpha = this.currentAlpha();
    await optimizerFromState(this.actorOptimizer, state.tensors, 'actorOptimizer');
    await optimizerFromState(this.criticOptimizer, state.tensors, 'criticOptimizer');
    await optimizerFromState(this.alphaOptimizer, state.tensors, 'alphaOptimizer');
    const j = state.json as { rng: number[]; gradientSteps: number; received: number; credit: number; syncedAt: { gradientSteps: number; uniform: boolean }; replay?: { size: number; position: number; maxPriority: number } };
    this.rng.setState(j.rng);
    this.gradientSteps = j.gradientSteps;
    this.received = j.received;
    this.credit = j.credit;
    this.syncedAt = j.syncedAt;
    this.buffer.fromState(state.tensors, j.replay, 'sac.bufferSize');
  }

  dispose(): void {
    this.actor.dispose();
    this.critic.dispose();
    this.target.dispose();
    this.logAlpha.dispose();
    this.actorOptimizer.dispose();
    this.criticOptimizer.dispose();
    this.alphaOptimizer.dispose();
  }
}
