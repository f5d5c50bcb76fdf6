import * as tf from '@tensorflow/tfjs';
import type { ActResult, ModelConfig, PolicySpec, SamplingPolicy, Weights } from '../src/algorithm';
import { Rng } from '../envs/rng';
import { categorical, diagGaussian } from './distributions';
import { Dense, Mlp, type Param } from './mlp';

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
  private readonly piBody: Mlp;
  private readonly vBody: Mlp | null;
  private readonly piHead: Dense;
  private readonly vHead: Dense;
  readonly logStd: tf.Variable | null;
  readonly params: Param[];
  readonly variables: tf.Variable[];

  constructor(spec: Pick<PolicySpec, 'observationSpace' | 'actionSpace'>, model: ModelConfig, seed: number, initLogStd = 0) {
    const rng = new Rng(seed);
    const obs = spec.observationSpace;
    const act = spec.actionSpace;
    if (obs.type !== 'Box') throw new TypeError('observationSpace must be a Box');
    this.obsSize = obs.shape.reduce((a, b) => a * b, 1);
    this.discrete = act.type === 'Discrete';
    this.actionSize = act.type === 'Discrete' ? act.n : act.shape.reduce((a, b) => a * b, 1);
    this.piBody = new Mlp(model.sharedLayers ? 'shared' : 'pi', this.obsSize, model.hiddenSizes, model.activation, rng);
    this.vBody = model.sharedLayers ? null : new Mlp('vf', this.obsSize, model.hiddenSizes, model.activation, rng);
    // Small policy outputs start the policy near uniform / near its mean, as in CleanRL and SB3.
    this.piHead = new Dense('pi/out', this.piBody.outputSize, this.actionSize, 0.01, rng);
    this.vHead = new Dense('vf/out', this.piBody.outputSize, 1, 1, rng);
    this.logStd = this.discrete ? null : tf.variable(tf.fill([this.actionSize], initLogStd));
    this.params = [
      ...this.piBody.params,
      ...(this.vBody?.params ?? []),
      ...this.piHead.params,
      ...this.vHead.params,
      ...(this.logStd ? [{ name: 'pi/logStd', variable: this.logStd }] : []),
    ];
    this.variables = this.params.map((p) => p.variable);
  }

  /** obs [B, obsSize] -> policy output [B, actionSize] (logits or mean) and value [B]. */
  forward(obs: tf.Tensor): { pi: tf.Tensor; value: tf.Tensor } {
    const h = this.piBody.apply(obs);
    const hv = this.vBody ? this.vBody.apply(obs) : h;
    return { pi: this.piHead.apply(h), value: tf.reshape(this.vHead.apply(hv), [-1]) };
  }

  value(obs: tf.Tensor): tf.Tensor {
    const hv = this.vBody ? this.vBody.apply(obs) : this.piBody.apply(obs);
    return tf.reshape(this.vHead.apply(hv), [-1]);
  }

  /** log pi(a|s) and entropy per row, for the loss. `actions` is one-hot (Discrete) or raw (Box). */
  evaluateActions(pi: tf.Tensor, actions: tf.Tensor): { logProb: tf.Tensor; entropy: tf.Tensor } {
    if (this.logStd) return { logProb: diagGaussian.logProb(pi, this.logStd, actions), entropy: diagGaussian.entropy(this.logStd) };
    return { logProb: categorical.logProb(pi, actions), entropy: categorical.entropy(pi) };
  }

  getWeights(): Weights {
    return this.params.map(({ name, variable }) => ({ name, shape: [...variable.shape], data: Float32Array.from(variable.dataSync() as Float32Array) }));
  }

  setWeights(weights: Weights): void {
    const byName = new Map(weights.map((w) => [w.name, w]));
    for (const { name, variable } of this.params) {
      const w = byName.get(name);
      if (!w || w.data.length !== variable.size) throw new RangeError(`weights: ${name} is missing or has the wrong size`);
      tf.tidy(() => variable.assign(tf.tensor(w.data, variable.shape)));
    }
  }

  dispose(): void {
    tf.dispose(this.variables);
  }
}

/** The sampling side: a forward pass per step, then JS sampling with the worker's generator. */
export class ActorCriticPolicy implements SamplingPolicy {
  readonly net: ActorCritic;

  constructor(spec: PolicySpec, initLogStd = 0) {
    // Weights arrive with setWeights; the seed only fills the variables until then.
    this.net = new ActorCritic(spec, spec.model, 0, initLogStd);
  }

  act(obs: Float32Array, numEnvs: number, rng: Rng, opts: { deterministic?: boolean } = {}): ActResult {
    const net = this.net;
    const out = tf.tidy(() => {
      const { pi, value } = net.forward(tf.tensor2d(obs, [numEnvs, net.obsSize]));
      return tf.concat([tf.reshape(pi, [-1]), value]);
    });
    const data = out.dataSync() as Float32Array;
    out.dispose();
    const piOut = data.subarray(0, numEnvs * net.actionSize);
    const value = data.slice(numEnvs * net.actionSize);
    const logp = new Float32Array(numEnvs);
    const deterministic = opts.deterministic ?? false;
    let actions: Float32Array;
    if (net.logStd) {
      actions = new Float32Array(numEnvs * net.actionSize);
      diagGaussian.sample(piOut, net.logStd.dataSync() as Float32Array, rng, deterministic, actions, logp);
    } else {
      actions = new Float32Array(numEnvs);
      categorical.sample(piOut, net.actionSize, rng, deterministic, actions, logp);
    }
    return { actions, extras: { logp, value } };
  }

  setWeights(weights: Weights): void {
    this.net.setWeights(weights);
  }

  dispose(): void {
    this.net.dispose();
  }
}
