import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { weightsFromState, weightsToState, type Algorithm, type AlgorithmModule, type AlgorithmState, type ConfigIssue, type CreateOptions, type PolicySpec, type TrajectoryBatch, type UpdateContext, type Weights } from '../../core/algorithm';
import { Rng, deriveSeed } from '../../core/rng';
import { ActorCritic, ActorCriticPolicy } from './actor-critic';
import { diagGaussian } from '../common/distributions';
import { computeGae } from '../common/gae';
import { clipByGlobalNorm, concatFloat32, explainedVariance, optimizerFromState, optimizerToState, shuffle } from '../common/util';

/** PPO's settings (the `ppo:` section of a config). */
export const ppoConfigSchema = z
  .object({
    lr: z.number().positive().max(1).default(3e-4).describe('Adam step size'),
    lrSchedule: z.enum(['constant', 'linear']).default('constant').describe('linear: anneal lr to 0 over stop.envSteps'),
    gamma: z.number().min(0).max(1).default(0.99).describe('discount factor'),
    gaeLambda: z.number().min(0).max(1).default(0.95).describe('GAE lambda: bias/variance trade-off of advantages'),
    clipRange: z.number().positive().default(0.2).describe('clip range of the probability ratio'),
    clipRangeVf: z.number().positive().nullable().default(null).describe('clip range of value updates; null: no clipping'),
    entCoef: z.number().min(0).default(0).describe('weight of the entropy bonus'),
    vfCoef: z.number().min(0).default(0.5).describe('weight of the value loss'),
    maxGradNorm: z.number().positive().default(0.5).describe('global gradient-norm clip'),
    numEpochs: z.number().int().positive().max(1000).default(10).describe('passes over each train batch'),
    minibatchSize: z.number().int().positive().max(1 << 20).default(256).describe('steps per gradient step'),
    trainBatchSize: z.number().int().positive().max(1 << 24).nullable().default(null).describe('steps per update; null: all envs x rolloutLength'),
    normalizeAdvantages: z.boolean().default(true).describe('normalise advantages within each minibatch'),
    initLogStd: z.number().default(0).describe('initial log-std of a Gaussian policy (Box actions)'),
    maxPolicyLag: z.number().int().min(0).default(0).describe('drop batches sampled by weights older than this many versions'),
  })
  .strict();

export type PpoConfig = z.infer<typeof ppoConfigSchema>;

function trainBatchSize(cfg: PpoConfig, totalEnvs: number, rolloutLength: number): number {
  return cfg.trainBatchSize ?? totalEnvs * rolloutLength;
}

export const ppo: AlgorithmModule<PpoConfig> = {
  name: 'ppo',
  configSchema: ppoConfigSchema,

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

  create: (opts) => new Ppo(opts),
  createPolicy: (spec) => new ActorCriticPolicy(spec, (spec.config as PpoConfig).initLogStd),
};

/** Proximal Policy Optimization with a clipped surrogate objective (Schulman et al., 2017). */
export class Ppo implements Algorithm {
  readonly mode = 'sync' as const;
  readonly trainBatchSize: number;
  readonly maxPolicyLag: number;
  readonly consoleMetrics: [string, string][] = [
    ['policyLoss', 'pg'],
    ['valueLoss', 'vf'],
    ['entropy', 'ent'],
    ['approxKl', 'kl'],
  ];
  private readonly cfg: PpoConfig;
  private readonly net: ActorCritic;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly rng: Rng;

  constructor(private readonly opts: CreateOptions<PpoConfig>) {
    this.cfg = opts.config;
    this.trainBatchSize = trainBatchSize(this.cfg, opts.totalEnvs, opts.rolloutLength);
    this.maxPolicyLag = this.cfg.maxPolicyLag;
    this.net = new ActorCritic(opts, opts.model, deriveSeed(opts.seed, 1), this.cfg.initLogStd);
    this.optimizer = tf.train.adam(this.cfg.lr, 0.9, 0.999, 1e-5);
    this.rng = new Rng(deriveSeed(opts.seed, 2));
  }

  policySpec(): PolicySpec {
    const { observationSpace, actionSpace, model, config } = this.opts;
    return { algorithm: 'ppo', observationSpace, actionSpace, model, config, extras: ['logp', 'value'] };
  }

  getWeights(): Weights {
    return this.net.getWeights();
  }

  async update(batches: TrajectoryBatch[], ctx: UpdateContext): Promise<Record<string, number>> {
    const cfg = this.cfg;
    const data = this.postprocess(batches);
    const size = data.advantages.length;
    const lr = cfg.lrSchedule === 'linear' ? cfg.lr * Math.max(0, 1 - ctx.envSteps / (this.opts.totalEnvSteps ?? Infinity)) : cfg.lr;
    (this.optimizer as unknown as { learningRate: number }).learningRate = lr; // read by every applyGradients

    const sums = { policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0 };
    let minibatches = 0;
    for (let epoch = 0; epoch < cfg.numEpochs; epoch++) {
      const order = shuffle(size, this.rng);
      for (let start = 0; start + cfg.minibatchSize <= size; start += cfg.minibatchSize) {
        const idx = order.subarray(start, start + cfg.minibatchSize);
        const m = this.minibatchStep(data, idx);
        sums.policyLoss += m[0];
        sums.valueLoss += m[1];
        sums.entropy += m[2];
        sums.approxKl += m[3];
        sums.clipFraction += m[4];
        minibatches += 1;
      }
    }
    const metrics: Record<string, number> = { learningRate: lr };
    for (const [k, v] of Object.entries(sums)) metrics[k] = v / minibatches;
    metrics.explainedVariance = explainedVariance(data.values, data.returns);
    return metrics;
  }

  /** One gradient step on the rows `idx`; returns [policyLoss, valueLoss, entropy, approxKl, clipFraction]. */
  private minibatchStep(data: Postprocessed, idx: Int32Array): Float32Array {
    const cfg = this.cfg;
    const net = this.net;
    const b = idx.length;
    const obs = new Float32Array(b * net.obsSize);
    const actSize = net.actionSize;
    const actions = new Float32Array(b * actSize); // one-hot for Discrete, raw for Box
    const oldLogp = new Float32Array(b);
    const oldValues = new Float32Array(b);
    const returns = new Float32Array(b);
    const adv = new Float32Array(b);
    for (let j = 0; j < b; j++) {
      const i = idx[j];
      obs.set(data.obs.subarray(i * net.obsSize, (i + 1) * net.obsSize), j * net.obsSize);
      if (net.discrete) actions[j * actSize + data.actions[i]] = 1;
      else actions.set(data.actions.subarray(i * actSize, (i + 1) * actSize), j * actSize);
      oldLogp[j] = data.logp[i];
      oldValues[j] = data.values[i];
      returns[j] = data.returns[i];
      adv[j] = data.advantages[i];
    }
    if (cfg.normalizeAdvantages) normalize(adv);

    if (!net.encoder) return this.writtenOutStep(obs, actions, adv, oldLogp, oldValues, returns);
    // Conv layers: the loss through tfjs' tape.
    let stats: tf.Tensor | undefined;
    tf.tidy(() => {
      const obsT = tf.tensor2d(obs, [b, net.obsSize]);
      const actT = tf.tensor2d(actions, [b, actSize]);
      const advT = tf.tensor1d(adv);
      const oldLogpT = tf.tensor1d(oldLogp);
      const oldValuesT = tf.tensor1d(oldValues);
      const returnsT = tf.tensor1d(returns);
      const { grads } = tf.variableGrads(() => {
        const { pi, value, logStd } = net.forward(obsT);
        const { logProb, entropy } = net.evaluateActions(pi, logStd, actT);
        const l = ppoLoss({ logProb, oldLogp: oldLogpT, advantages: advT, entropy, value, oldValues: oldValuesT, returns: returnsT }, cfg);
        stats = tf.keep(tf.stack([l.pgLoss, l.vLoss, l.entropyLoss, l.approxKl, l.clipFraction]));
        return l.total as tf.Scalar;
      }, net.variables);
      this.optimizer.applyGradients(clipByGlobalNorm(grads, cfg.maxGradNorm) as unknown as Parameters<tf.AdamOptimizer['applyGradients']>[0]);
    });
    const out = stats!.dataSync() as Float32Array;
    stats!.dispose();
    return out;
  }

  /**
   * A minibatch step with the loss's gradient written out (`ppoGradients`, then
   * `ActorCritic.backward`) instead of taped: the same numbers (a test compares them with
   * autodiff) in half the kernels, which is what a small network's step costs on wasm.
   */
  private writtenOutStep(obs: Float32Array, actions: Float32Array, adv: Float32Array, oldLogp: Float32Array, oldValues: Float32Array, returns: Float32Array): Float32Array {
    const cfg = this.cfg;
    const net = this.net;
    const b = adv.length;
    const theta = net.params.variable;
    let out: tf.Tensor | undefined;
    tf.tidy(() => {
      const p = net.params.unpack();
      const { pi, value, rec } = net.forwardRecorded(tf.tensor2d(obs, [b, net.obsSize]), p);
      const logStd = net.discrete ? null : p['pi/logStd'];
      const g = ppoGradients(
        { pi, logStd, actions: tf.tensor2d(actions, [b, net.actionSize]), value, advantages: tf.tensor1d(adv), oldLogp: tf.tensor1d(oldLogp), oldValues: tf.tensor1d(oldValues), returns: tf.tensor1d(returns) },
        cfg,
      );
      const grad = net.backward(p, rec, g.dPi, g.dValue, g.dLogStd);
      this.optimizer.applyGradients(clipByGlobalNorm({ [theta.name]: grad }, cfg.maxGradNorm) as unknown as Parameters<tf.AdamOptimizer['applyGradients']>[0]);
      out = tf.keep(tf.concat([g.ratio, g.entropy, value]));
    });
    const v = out!.dataSync() as Float32Array;
    out!.dispose();
    // The metrics, from the per-row numbers: what ppoLoss reports.
    const ratio = v.subarray(0, b);
    const entropy = v.subarray(b, v.length - b);
    const values = v.subarray(v.length - b);
    let pg = 0;
    let kl = 0;
    let clipped = 0;
    let vLoss = 0;
    for (let i = 0; i < b; i++) {
      const r = ratio[i];
      const rc = Math.min(Math.max(r, 1 - cfg.clipRange), 1 + cfg.clipRange);
      pg += Math.max(-adv[i] * r, -adv[i] * rc);
      kl += r - 1 - Math.log(r);
      if (Math.abs(r - 1) > cfg.clipRange) clipped += 1;
      let sq = (values[i] - returns[i]) ** 2;
      if (cfg.clipRangeVf !== null) {
        const vc = oldValues[i] + Math.min(Math.max(values[i] - oldValues[i], -cfg.clipRangeVf), cfg.clipRangeVf);
        sq = Math.max(sq, (vc - returns[i]) ** 2);
      }
      vLoss += sq;
    }
    const entropyMean = entropy.reduce((a, x) => a + x, 0) / entropy.length;
    return Float32Array.of(pg / b, (0.5 * vLoss) / b, entropyMean, kl / b, clipped / b);
  }

  /** Columns of all batches joined, with GAE advantages and returns computed per batch. */
  private postprocess(batches: TrajectoryBatch[]): Postprocessed {
    const net = this.net;
    const parts = batches.map((batch) => {
      const values = batch.extras.value;
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
      return { obs: batch.obs, actions: batch.actions, logp: batch.extras.logp, values, advantages, returns };
    });
    const join = (k: keyof (typeof parts)[0]) => concatFloat32(parts.map((p) => p[k]));
    return {
      obs: join('obs'),
      actions: join('actions'),
      logp: join('logp'),
      values: join('values'),
      advantages: join('advantages'),
      returns: join('returns'),
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

/**
 * PPO's objective on one minibatch, each part named. `total` = pgLoss - entCoef * entropy +
 * vfCoef * vLoss; approxKl (the "k3" estimator) and clipFraction are diagnostics.
 */
export function ppoLoss(
  t: { logProb: tf.Tensor; oldLogp: tf.Tensor; advantages: tf.Tensor; entropy: tf.Tensor; value: tf.Tensor; oldValues: tf.Tensor; returns: tf.Tensor },
  cfg: Pick<PpoConfig, 'clipRange' | 'clipRangeVf' | 'entCoef' | 'vfCoef'>,
): { pgLoss: tf.Tensor; vLoss: tf.Tensor; entropyLoss: tf.Tensor; approxKl: tf.Tensor; clipFraction: tf.Tensor; total: tf.Tensor } {
  const logRatio = tf.sub(t.logProb, t.oldLogp);
  const ratio = tf.exp(logRatio);
  const negAdv = tf.neg(t.advantages);
  const pgLoss = tf.mean(tf.maximum(tf.mul(negAdv, ratio), tf.mul(negAdv, tf.clipByValue(ratio, 1 - cfg.clipRange, 1 + cfg.clipRange))));
  let vLoss = tf.square(tf.sub(t.value, t.returns));
  if (cfg.clipRangeVf !== null) {
    const clipped = tf.add(t.oldValues, tf.clipByValue(tf.sub(t.value, t.oldValues), -cfg.clipRangeVf, cfg.clipRangeVf));
    vLoss = tf.maximum(vLoss, tf.square(tf.sub(clipped, t.returns)));
  }
  vLoss = tf.mul(0.5, tf.mean(vLoss));
  const entropyLoss = tf.mean(t.entropy);
  const total = tf.add(tf.sub(pgLoss, tf.mul(cfg.entCoef, entropyLoss)), tf.mul(cfg.vfCoef, vLoss));
  const approxKl = tf.mean(tf.sub(tf.sub(ratio, 1), logRatio));
  const clipFraction = tf.mean(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), cfg.clipRange), 'float32'));
  return { pgLoss, vLoss, entropyLoss, approxKl, clipFraction, total };
}

/**
 * The derivatives of `ppoLoss`'s total by the policy output (logits or Gaussian mean), the
 * value and the Gaussian log-std, written out; with the per-row ratio and entropy (a Gaussian's
 * entropy is one number) for the metrics. Where tfjs' `maximum` and `clipByValue` pick a side
 * at a tie, these pick the same.
 */
export function ppoGradients(
  t: { pi: tf.Tensor; logStd: tf.Tensor | null; actions: tf.Tensor; value: tf.Tensor; advantages: tf.Tensor; oldLogp: tf.Tensor; oldValues: tf.Tensor; returns: tf.Tensor },
  cfg: Pick<PpoConfig, 'clipRange' | 'clipRangeVf' | 'entCoef' | 'vfCoef'>,
): { dPi: tf.Tensor; dValue: tf.Tensor; dLogStd: tf.Tensor | null; ratio: tf.Tensor; entropy: tf.Tensor } {
  const B = t.advantages.shape[0]!;
  const inRange = (x: tf.Tensor, lo: number, hi: number) => tf.cast(tf.logicalAnd(tf.greaterEqual(x, lo), tf.lessEqual(x, hi)), 'float32');
  let logp: tf.Tensor;
  let logpAll: tf.Tensor | undefined;
  let probs: tf.Tensor | undefined;
  let z: tf.Tensor | undefined;
  let entropy: tf.Tensor;
  if (t.logStd) {
    z = tf.div(tf.sub(t.actions, t.pi), tf.exp(t.logStd));
    logp = tf.sum(tf.sub(tf.mul(tf.square(z), -0.5), tf.add(t.logStd, 0.5 * Math.log(2 * Math.PI))), -1);
    entropy = tf.reshape(diagGaussian.entropy(t.logStd), [1]);
  } else {
    logpAll = tf.logSoftmax(t.pi);
    probs = tf.exp(logpAll);
    logp = tf.sum(tf.mul(logpAll, t.actions), -1);
    entropy = tf.neg(tf.sum(tf.mul(probs, logpAll), -1));
  }
  // Clipped surrogate: d/dratio of mean(max(-A r, -A clip(r))) is -A/B where the unclipped side
  // is taken (or the clipped side with r inside the range), else 0.
  const ratio = tf.exp(tf.sub(logp, t.oldLogp));
  const negA = tf.neg(t.advantages);
  const unclipped = tf.cast(tf.greaterEqual(tf.mul(negA, ratio), tf.mul(negA, tf.clipByValue(ratio, 1 - cfg.clipRange, 1 + cfg.clipRange))), 'float32');
  const live = tf.add(unclipped, tf.mul(tf.sub(1, unclipped), inRange(ratio, 1 - cfg.clipRange, 1 + cfg.clipRange)));
  const dLogp = tf.reshape(tf.mul(tf.mul(negA, live), tf.mul(ratio, 1 / B)), [B, 1]);
  let dPi: tf.Tensor;
  let dLogStd: tf.Tensor | null = null;
  if (t.logStd) {
    const sigma = tf.exp(t.logStd);
    dPi = tf.mul(dLogp, tf.div(z!, sigma)); // dlogp/dmean = z / sigma
    // dlogp/dlogStd = z^2 - 1; the entropy bonus adds -entCoef to each log-std.
    dLogStd = tf.sub(tf.sum(tf.mul(dLogp, tf.sub(tf.square(z!), 1)), 0), cfg.entCoef);
  } else {
    // dlogp/dlogits = onehot - p; d(-entCoef * mean H)/dlogits = entCoef/B * p (log p + H).
    dPi = tf.add(tf.mul(dLogp, tf.sub(t.actions, probs!)), tf.mul(cfg.entCoef / B, tf.mul(probs!, tf.add(logpAll!, tf.reshape(entropy, [B, 1])))));
  }
  // Value: vfCoef * 0.5 * mean(max(d^2, dc^2)), dc the clipped value's error.
  const d = tf.sub(t.value, t.returns);
  let dv: tf.Tensor = d;
  if (cfg.clipRangeVf !== null) {
    const delta = tf.sub(t.value, t.oldValues);
    const dc = tf.sub(tf.add(t.oldValues, tf.clipByValue(delta, -cfg.clipRangeVf, cfg.clipRangeVf)), t.returns);
    const first = tf.cast(tf.greaterEqual(tf.square(d), tf.square(dc)), 'float32');
    dv = tf.add(tf.mul(d, first), tf.mul(tf.mul(dc, tf.sub(1, first)), inRange(delta, -cfg.clipRangeVf, cfg.clipRangeVf)));
  }
  return { dPi, dValue: tf.mul(dv, cfg.vfCoef / B), dLogStd, ratio, entropy };
}

interface Postprocessed {
  obs: Float32Array;
  actions: Float32Array;
  logp: Float32Array;
  values: Float32Array;
  advantages: Float32Array;
  returns: Float32Array;
}

function normalize(x: Float32Array): void {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let variance = 0;
  for (const v of x) variance += (v - mean) ** 2;
  const std = Math.sqrt(variance / Math.max(1, x.length - 1));
  for (let i = 0; i < x.length; i++) x[i] = (x[i] - mean) / (std + 1e-8);
}
