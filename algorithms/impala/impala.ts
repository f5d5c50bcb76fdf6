import * as tf from '@tensorflow/tfjs';
import { DEFAULT_POLICY, policySpecOf, weightsFromState, weightsToState, type Algorithm, type AlgorithmModule, type AlgorithmState, type ColumnSpec, type ConfigIssue, type CreateOptions, type MetricSpec, type ParamsById, type PolicySpec, type Schedule, type TrajectoryBatch, type UpdateContext } from '../../core/algorithm';
import { Rng } from '../../core/rng';
import { seedStreams } from '../../core/seed-streams';
import { softUpdate } from '../common/flat-params';
import { FusedAdam } from '../common/fused-adam';
import { optimizerFromState, optimizerToState, setLearningRate } from '../common/optimizer';
import { weightsFrom, weightsUnder } from '../common/state';
import { explainedVariance } from '../common/util';
import { ActorCritic, ActorCriticPolicy } from '../ppo/actor-critic';
import { ppo } from '../ppo/ppo';
import { ppoEpochs } from '../ppo/step';
import { impalaConfigSchema, type ImpalaConfig, type VtraceConfig } from './config';
import { vtraceMetrics, vtraceRows } from './vtrace-rollout';

export { impalaConfigSchema, type ImpalaConfig };

/** What a worker records per step: log mu(a|x), the behaviour policy's log-probability, which V-trace weighs against the learner's. */
const COLUMNS: ColumnSpec[] = [{ name: 'logp', dtype: 'float32', shape: [] }];

/**
 * The module parts IMPALA and APPO share: the rules across their shared keys, and the policy
 * side, PPO's actor-critic (illegal actions get probability 0 in sampling and in the loss).
 */
export function vtraceModuleParts(algorithm: string): Omit<AlgorithmModule<VtraceConfig>, 'name' | 'configSchema' | 'create' | 'pinConfig'> {
  return {
    check(cfg, ctx): ConfigIssue[] {
      const issues: ConfigIssue[] = [];
      if (cfg.minibatchSize !== null && cfg.minibatchSize > cfg.trainBatchSize) issues.push({ path: 'minibatchSize', message: `(${cfg.minibatchSize}) must be <= trainBatchSize (${cfg.trainBatchSize})` });
      if (cfg.lrSchedule === 'linear' && ctx.totalEnvSteps === undefined) issues.push({ path: 'lrSchedule', message: '(linear) anneals over stop.envSteps, which is not set' });
      return issues;
    },
    actionMasks: true,
    policySpec: (opts) => policySpecOf(opts, { algorithm, columns: COLUMNS }),
    createPolicy: (spec, ctx) => new ActorCriticPolicy(spec, (spec.config as VtraceConfig).initLogStd, ctx?.engine),
    weightShapes: ppo.weightShapes,
    greedyPath: ppo.greedyPath,
  };
}

/** IMPALA (`algorithm: impala`): V-trace actor-critic on the `queue` schedule; the learner is `Impala`. */
export const impala: AlgorithmModule<ImpalaConfig> = {
  name: 'impala',
  configSchema: impalaConfigSchema,
  create: (opts) => new Impala('impala', opts, null),
  ...vtraceModuleParts('impala'),
};

/** What APPO adds to IMPALA's learner: PPO's clipped surrogate against a target network. */
export interface ClippedSurrogate {
  /** Clip range of the ratio pi / pi_old. */
  clipRange: number;
  /** Updates between target-network updates. */
  targetUpdateInterval: number;
  /** Polyak factor of a target update (1: a copy). */
  tau: number;
}

/** A clip range no ratio reaches: PPO's surrogate without clipping. */
const UNCLIPPED = 1e9;
/** log 2: in APPO's ratio the behaviour policy outweighs the target network's by at most twice. */
const LOG_2 = Math.log(2);

/**
 * IMPALA (Espeholt et al. 2018): an actor-critic trained from a learner queue that workers fill
 * without waiting (the `queue` schedule), its targets corrected for the lag between the policy
 * that acted (mu) and the one being trained (pi) by V-trace (`vtraceRows`). The loss on each
 * update's steps (means over them), A_s V-trace's policy-gradient advantage and v_s its value target:
 *
 *   policy  -log pi(a_s|x_s) A_s          (A_s = min(pgRhoBar, pi/mu) (r_s + gamma v_{s+1} - V(x_s)))
 *   value    vfCoef 0.5 (v_s - V(x_s))^2
 *   entropy -entCoef H(pi(.|x_s))
 *
 * stated as PPO's loss with the update's own log-probs as the old ones and no clipping (a ratio
 * of 1, whose gradient is that of log pi), so it runs through PPO's step, written-out gradient
 * and masks included.
 *
 * APPO (`surrogate` given; RLlib's): V-trace's target policy is a target network that follows
 * this one every `targetUpdateInterval` updates, and the policy loss is PPO's clipped surrogate
 *   -min(r_s A_s, clip(r_s, 1 - clipRange, 1 + clipRange) A_s),
 *   r_s = clip(mu / pi_target, 0, 2) * pi / mu = pi / max(pi_target, mu / 2).
 */
export class Impala implements Algorithm {
  readonly schedule: Schedule;
  readonly metrics: readonly MetricSpec[] = vtraceMetrics;
  private readonly cfg: VtraceConfig;
  private readonly net: ActorCritic;
  /** APPO's target network; null for IMPALA. */
  private readonly target: ActorCritic | null;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly rng: Rng;
  private updates = 0;

  constructor(
    private readonly name: string,
    private readonly opts: CreateOptions<VtraceConfig>,
    private readonly surrogate: ClippedSurrogate | null,
  ) {
    const cfg = (this.cfg = opts.config);
    this.schedule = { mode: 'queue', trainBatchSize: cfg.trainBatchSize, queueSize: cfg.queueSize, maxPolicyLag: cfg.maxPolicyLag, broadcastEvery: cfg.broadcastEvery, stepsPerIteration: cfg.stepsPerIteration };
    const seeds = seedStreams(opts.seed);
    this.net = new ActorCritic(opts, opts.model, seeds.init, cfg.initLogStd);
    // The same seed: the target starts as a copy of the network.
    this.target = surrogate ? new ActorCritic(opts, opts.model, seeds.init, cfg.initLogStd) : null;
    this.optimizer = new FusedAdam(cfg.lr, 0.9, 0.999, 1e-8);
    this.rng = new Rng(seeds.learner);
  }

  policySpecs(): Record<string, PolicySpec> {
    return { [DEFAULT_POLICY]: policySpecOf(this.opts, { algorithm: this.name, columns: COLUMNS }) };
  }

  getParams(): ParamsById {
    return { [DEFAULT_POLICY]: { weights: this.net.getWeights(), scalars: {} } };
  }

  async update(batches: TrajectoryBatch[], ctx: UpdateContext): Promise<Record<string, number>> {
    const cfg = this.cfg;
    const lr = cfg.lrSchedule === 'linear' ? cfg.lr * Math.max(0, 1 - ctx.envSteps / (this.opts.totalEnvSteps ?? Infinity)) : cfg.lr;
    setLearningRate(this.optimizer, lr);
    const v = vtraceRows(this.net, this.target, batches, cfg, this.opts.actionMask ?? false);
    const oldLogp = this.surrogate ? v.targetLogp.map((t, i) => Math.max(t, v.behaviourLogp[i] - LOG_2)) : v.currentLogp;
    const data = { ...v.rows, logp: oldLogp, advantages: v.pgAdvantages, returns: v.vs };
    const step = { ...cfg, clipRange: this.surrogate?.clipRange ?? UNCLIPPED, clipRangeVf: null, minibatchSize: cfg.minibatchSize ?? data.advantages.length };
    const losses = ppoEpochs(this.net, this.optimizer, this.rng, data, step, { algorithm: this.name, envSteps: ctx.envSteps });
    this.updates += 1;
    if (this.target && this.updates % this.surrogate!.targetUpdateInterval === 0) softUpdate(this.target.params, this.net.params, this.surrogate!.tau);
    return { ...losses, meanRho: v.meanRho, explainedVariance: explainedVariance(v.rows.values, v.vs), learningRate: lr };
  }

  async getState(): Promise<AlgorithmState> {
    const tensors = [...weightsToState(this.net.getWeights()), ...(this.target ? weightsUnder('target/', this.target.getWeights()) : []), ...(await optimizerToState(this.optimizer))];
    return { tensors, json: { rng: this.rng.getState(), updates: this.updates } };
  }

  async setState(state: AlgorithmState): Promise<void> {
    this.net.setWeights(weightsFromState(state));
    this.target?.setWeights(weightsFrom('target/', state.tensors));
    await optimizerFromState(this.optimizer, state.tensors);
    this.rng.setState(state.json.rng as number[]);
    this.updates = state.json.updates as number;
  }

  dispose(): void {
    this.net.dispose();
    this.target?.dispose();
    this.optimizer.dispose();
  }
}
