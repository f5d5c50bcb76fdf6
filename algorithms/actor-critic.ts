import * as tf from '@tensorflow/tfjs';
import type { ActResult, ModelConfig, PolicySpec, SamplingPolicy, Weights } from '../src/algorithm';
import { Rng } from '../envs/rng';
import { categorical, diagGaussian } from './distributions';
import { Dense, FlatParams, Mlp } from './mlp';

/**
 * A policy head and a value head over MLP bodies: one shared body (`sharedLayers`) or one
 * each. Discrete action spaces get logits; Box action spaces a Gaussian mean and a
 * state-independent log-std.
 */
export class ActorCritic {
  readonly discrete: boolean;
  /** Number of logits (Discrete) or action dimensions (Box). */
  readonly actionSize: number;
  readonly obsSize: number;
  readonly params = new FlatParams();
  private readonly piBody: Mlp;
  private readonly vBody: Mlp | null;
  private readonly piHead: Dense;
  private readonly vHead: Dense;
  private readonly logStd: string | null;

  constructor(spec: Pick<PolicySpec, 'observationSpace' | 'actionSpace'>, model: ModelConfig, seed: number, initLogStd = 0) {
    const rng = new Rng(seed);
    const obs = spec.observationSpace;
    const act = spec.actionSpace;
    if (obs.type !== 'Box') throw new TypeError('observationSpace must be a Box');
    this.obsSize = obs.shape.reduce((a, b) => a * b, 1);
    this.discrete = act.type === 'Discrete';
    this.actionSize = act.type === 'Discrete' ? act.n : act.shape.reduce((a, b) => a * b, 1);
    const p = this.params;
    this.piBody = new Mlp(p, model.sharedLayers ? 'shared' : 'pi', this.obsSize, model.hiddenSizes, model.activation, rng);
    this.vBody = model.sharedLayers ? null : new Mlp(p, 'vf', this.obsSize, model.hiddenSizes, model.activation, rng);
    // Small policy outputs start the policy near uniform / near its mean, as in CleanRL and SB3.
    this.piHead = new Dense(p, 'pi/out', this.piBody.outputSize, this.actionSize, 0.01, rng);
    this.vHead = new Dense(p, 'vf/out', this.piBody.outputSize, 1, 1, rng);
    this.logStd = this.discrete ? null : p.add('pi/logStd', [this.actionSize], new Float32Array(this.actionSize).fill(initLogStd));
  }

  get variables(): tf.Variable[] {
    return [this.params.variable];
  }

  /**
   * obs [B, obsSize] -> policy output [B, actionSize] (logits or mean), value [B], and the
   * log-std tensor of a Gaussian policy.
   */
  forward(obs: tf.Tensor, p = this.params.unpack()): { pi: tf.Tensor; value: tf.Tensor; logStd: tf.Tensor | null } {
    const h = this.piBody.apply(p, obs);
    const hv = this.vBody ? this.vBody.apply(p, obs) : h;
    return { pi: this.piHead.apply(p, h), value: tf.reshape(this.vHead.apply(p, hv), [-1]), logStd: this.logStd ? p[this.logStd] : null };
  }

  /** The value alone, [B]. */
  value(obs: tf.Tensor): tf.Tensor {
    const p = this.params.unpack();
    return tf.reshape(this.vHead.apply(p, (this.vBody ?? this.piBody).apply(p, obs)), [-1]);
  }

  /** log pi(a|s) and entropy per row, for the loss. `actions` is one-hot (Discrete) or raw (Box). */
  evaluateActions(pi: tf.Tensor, logStd: tf.Tensor | null, actions: tf.Tensor): { logProb: tf.Tensor; entropy: tf.Tensor } {
    if (logStd) return { logProb: diagGaussian.logProb(pi, logStd, actions), entropy: diagGaussian.entropy(logStd) };
    return categorical.evaluate(pi, actions);
  }

  getWeights(): Weights {
    return this.params.getWeights();
  }

  setWeights(weights: Weights): void {
    this.params.setWeights(weights);
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** The sampling side: a forward pass per step, then JS sampling with the worker's generator. */
export class ActorCriticPolicy implements SamplingPolicy {
  readonly net: ActorCritic;
  /** The named tensors, cut from the flat variable once per setWeights rather than once per step. */
  private unpacked: Record<string, tf.Tensor> | undefined;

  constructor(spec: PolicySpec, initLogStd = 0) {
    // Weights arrive with setWeights; the seed only fills the variables until then.
    this.net = new ActorCritic(spec, spec.model, 0, initLogStd);
  }

  act(obs: Float32Array, numEnvs: number, rng: Rng, opts: { deterministic?: boolean } = {}): ActResult {
    const net = this.net;
    this.unpacked ??= tf.tidy(() => this.net.params.unpack());
    const params = this.unpacked;
    const out = tf.tidy(() => {
      const { pi, value, logStd } = net.forward(tf.tensor2d(obs, [numEnvs, net.obsSize]), params);
      return tf.concat([tf.reshape(pi, [-1]), value, ...(logStd ? [logStd] : [])]);
    });
    const data = out.dataSync() as Float32Array;
    out.dispose();
    const piEnd = numEnvs * net.actionSize;
    const piOut = data.subarray(0, piEnd);
    const value = data.slice(piEnd, piEnd + numEnvs);
    const logp = new Float32Array(numEnvs);
    const deterministic = opts.deterministic ?? false;
    let actions: Float32Array;
    if (net.discrete) {
      actions = new Float32Array(numEnvs);
      categorical.sample(piOut, net.actionSize, rng, deterministic, actions, logp);
    } else {
      actions = new Float32Array(numEnvs * net.actionSize);
      diagGaussian.sample(piOut, data.subarray(piEnd + numEnvs), rng, deterministic, actions, logp);
    }
    return { actions, extras: { logp, value } };
  }

  setWeights(weights: Weights): void {
    this.net.setWeights(weights);
    this.dropUnpacked();
  }

  dispose(): void {
    this.dropUnpacked();
    this.net.dispose();
  }

  private dropUnpacked(): void {
    if (this.unpacked) tf.dispose(Object.values(this.unpacked));
    this.unpacked = undefined;
  }
}
