import * as tf from '@tensorflow/tfjs';
import type { ActInput, ActResult, ModelConfig, NamedTensor, PolicyParams, PolicySpec, SamplingPolicy, TensorShape, Weights } from '../../core/algorithm';
import { inputScale, type DenseSpec, type Forward, type ForwardEngine, type ForwardNet, type InputScale, type LayerSpec } from '../../core/forward';
import { Rng } from '../../core/rng';
import { ConvEncoder, convInputShape } from '../common/conv';
import { categorical, diagGaussian } from '../common/distributions';
import { Dense, Mlp } from '../common/mlp';
import { cellStep, RecurrentCell, recurrentStateNames, stateColumn } from '../common/recurrent';
import { FlatModel } from '../common/flat-model';
import { convLayers, denseOf, forwardNet, forwardOn, tfjsEngine, weightLookup } from '../common/forward';

/**
 * A policy head and a value head over MLP bodies: one shared body (`sharedLayers`) or one
 * each. With `model.conv`, one conv encoder shared by both reads the image first (as in
 * Atari PPO). Discrete action spaces get logits; Box action spaces a Gaussian mean and a
 * state-independent log-std. With `model.recurrent`, one recurrent cell shared by both reads
 * the features (observation or conv output) before the bodies, as SB3's RecurrentPPO places
 * its LSTM; it is trained on padded sequences (`forwardSequences`).
 */
export class ActorCritic extends FlatModel {
  readonly discrete: boolean;
  /** Number of logits (Discrete) or action dimensions (Box). */
  readonly actionSize: number;
  readonly obsSize: number;
  /** The shared conv layers, when `model.conv` has any. */
  readonly encoder: ConvEncoder | null;
  readonly inputScale: InputScale | null;
  /** The recurrent cell, when `model.recurrent` is set. */
  readonly cell: RecurrentCell | null;
  private readonly piBody: Mlp;
  private readonly vBody: Mlp | null;
  private readonly piHead: Dense;
  private readonly vHead: Dense;
  private readonly logStd: string | null;

  constructor(spec: Pick<PolicySpec, 'observationSpace' | 'actionSpace'>, model: ModelConfig, seed: number, initLogStd = 0) {
    super();
    const rng = new Rng(seed);
    const obs = spec.observationSpace;
    const act = spec.actionSpace;
    if (obs.type !== 'Box') throw new TypeError('observationSpace must be a Box');
    this.obsSize = obs.shape.reduce((a, b) => a * b, 1);
    this.inputScale = inputScale(obs);
    this.discrete = act.type === 'Discrete';
    this.actionSize = act.type === 'Discrete' ? act.n : act.shape.reduce((a, b) => a * b, 1);
    const p = this.params;
    const image = convInputShape(model, obs);
    this.encoder = image ? new ConvEncoder(p, 'conv', image, model.conv!, rng) : null;
    const encoded = this.encoder?.outputSize ?? this.obsSize;
    this.cell = model.recurrent ? new RecurrentCell(p, 'rnn', encoded, model.recurrent.size, model.recurrent.type, rng) : null;
    const features = this.cell?.size ?? encoded;
    this.piBody = new Mlp(p, model.sharedLayers ? 'shared' : 'pi', features, model.hiddenSizes, model.activation, rng);
    this.vBody = model.sharedLayers ? null : new Mlp(p, 'vf', features, model.hiddenSizes, model.activation, rng);
    // Small policy outputs start the policy near uniform / near its mean, as in CleanRL and SB3.
    this.piHead = new Dense(p, 'pi/out', this.piBody.outputSize, this.actionSize, 0.01, rng);
    this.vHead = new Dense(p, 'vf/out', this.piBody.outputSize, 1, 1, rng);
    this.logStd = this.discrete ? null : p.add('pi/logStd', [this.actionSize], new Float32Array(this.actionSize).fill(initLogStd));
  }

  /** The tensors of the network of `spec` (nothing is built: the variable and the conv constants are made on first use). */
  static shapesOf(spec: PolicySpec): TensorShape[] {
    const net = new ActorCritic(spec, spec.model, 0);
    try {
      return net.params.shapes();
    } finally {
      net.dispose();
    }
  }

  get variables(): tf.Variable[] {
    return [this.params.variable];
  }

  /**
   * obs [B, obsSize] -> policy output [B, actionSize] (logits or mean), value [B], and the
   * log-std tensor of a Gaussian policy.
   */
  forward(obs: tf.Tensor, p = this.params.unpack()): { pi: tf.Tensor; value: tf.Tensor; logStd: tf.Tensor | null } {
    if (this.cell) throw new TypeError('a recurrent ActorCritic reads sequences: forwardSequences');
    return this.heads(this.encode(obs, p), p);
  }

  /**
   * The recurrent network over `length` steps of sequences, time-major: `obs` [length * S,
   * obsSize] (row t * S + s), `state` each sequence's state at its start ([S, size] per
   * `cell.stateNames` entry), zeroed before the rows where `resets` is 1 (episode starts). The
   * outputs as `forward`'s, per row.
   */
  forwardSequences(obs: tf.Tensor, state: tf.Tensor[], length: number, resets: Uint8Array | null, p = this.params.unpack()): { pi: tf.Tensor; value: tf.Tensor; logStd: tf.Tensor | null } {
    const { outputs } = this.cell!.unroll(p, this.encode(obs, p), state, length, resets);
    return this.heads(outputs, p);
  }

  /**
   * One step of the recurrent network for acting: `obs` [B, obsSize] from `state` ([B, size]
   * each); the outputs and the next state.
   */
  forwardStep(obs: tf.Tensor, state: tf.Tensor[], p = this.params.unpack()): { pi: tf.Tensor; value: tf.Tensor; logStd: tf.Tensor | null; state: tf.Tensor[] } {
    const next = this.cell!.step(p, this.cell!.project(p, this.encode(obs, p)), state);
    return { ...this.heads(next[0], p), state: next };
  }

  /**
   * A recurrent network's value of `next` [B, obsSize], from the state after a step on `prev`
   * [B, obsSize] from `state`, zeroed where `reset` [B, 1] is 1 (`next` starts an episode): the
   * bootstrap value past a batch's last row or a truncated one.
   */
  valueAfter(prev: tf.Tensor, state: tf.Tensor[], next: tf.Tensor, reset: tf.Tensor): tf.Tensor {
    const p = this.params.unpack();
    const keep = tf.sub(1, reset);
    const after = this.forwardStep(prev, state, p).state.map((s) => tf.mul(s, keep));
    return this.forwardStep(next, after, p).value;
  }

  /** The observations as the bodies (or the recurrent cell) read them: through the conv layers, if any. */
  private encode(obs: tf.Tensor, p: Record<string, tf.Tensor>): tf.Tensor {
    const input = this.input(obs);
    return this.encoder ? this.encoder.apply(p, input) : input;
  }

  /** The bodies and heads on features x [B, features]. */
  private heads(x: tf.Tensor, p: Record<string, tf.Tensor>): { pi: tf.Tensor; value: tf.Tensor; logStd: tf.Tensor | null } {
    const h = this.piBody.apply(p, x);
    const hv = this.vBody ? this.vBody.apply(p, x) : h;
    return { pi: this.piHead.apply(p, h), value: tf.reshape(this.vHead.apply(p, hv), [-1]), logStd: this.logStd ? p[this.logStd] : null };
  }

  /**
   * `forward` for the written-out gradient (`backward`): inference kernels, each layer's input
   * kept (the conv layers' too, when there are any).
   */
  forwardRecorded(obs: tf.Tensor, p: Record<string, tf.Tensor>): { pi: tf.Tensor; value: tf.Tensor; rec: Recorded } {
    const input = this.input(obs);
    const conv = this.encoder ? this.encoder.record(p, input) : null;
    const x = conv ? tf.reshape(conv[conv.length - 1], [obs.shape[0], -1]) : input;
    const pi = this.piBody.record(p, x);
    const vf = this.vBody ? this.vBody.record(p, x) : pi;
    const hPi = pi[pi.length - 1];
    const hV = vf[vf.length - 1];
    return { pi: this.piHead.infer(p, hPi, 'linear'), value: tf.reshape(this.vHead.infer(p, hV, 'linear'), [-1]), rec: { pi, vf, conv } };
  }

  /**
   * The flat gradient of a loss, given its derivatives by the policy output [B, actionSize],
   * the value [B] and (Gaussian) the log-std [actionSize], through the layers `rec` holds.
   */
  backward(p: Record<string, tf.Tensor>, rec: Recorded, dPi: tf.Tensor, dValue: tf.Tensor, dLogStd: tf.Tensor | null): tf.Tensor1D {
    const grads: Record<string, tf.Tensor> = {};
    const dhPi = this.piHead.backward(p, rec.pi[rec.pi.length - 1], dPi, grads, true)!;
    const dhV = this.vHead.backward(p, rec.vf[rec.vf.length - 1], tf.reshape(dValue, [-1, 1]), grads, true)!;
    const toFeatures = rec.conv !== null; // the conv layers below need dLoss/d(features)
    let dFeatures: tf.Tensor | null;
    if (this.vBody) {
      const dPiIn = this.piBody.backward(p, rec.pi, dhPi, grads, toFeatures);
      const dVIn = this.vBody.backward(p, rec.vf, dhV, grads, toFeatures);
      dFeatures = toFeatures ? tf.add(dPiIn!, dVIn!) : null;
    } else {
      dFeatures = this.piBody.backward(p, rec.pi, tf.add(dhPi, dhV), grads, toFeatures);
    }
    if (rec.conv) this.encoder!.backward(p, rec.conv, dFeatures!, grads);
    if (this.logStd) grads[this.logStd] = dLogStd!;
    return this.params.pack(grads);
  }

  /** The value alone, [B]. */
  value(obs: tf.Tensor): tf.Tensor {
    const p = this.params.unpack();
    const input = this.input(obs);
    const x = this.encoder ? this.encoder.apply(p, input) : input;
    return tf.reshape(this.vHead.apply(p, (this.vBody ?? this.piBody).apply(p, x)), [-1]);
  }

  /**
   * log pi(a|s) and entropy per row, for the loss. `actions` is one-hot (Discrete) or raw (Box);
   * `mask` [B, n] (Discrete, the env's action masks): of the distribution over the legal actions.
   */
  evaluateActions(pi: tf.Tensor, logStd: tf.Tensor | null, actions: tf.Tensor, mask: tf.Tensor | null = null): { logProb: tf.Tensor; entropy: tf.Tensor } {
    if (logStd) return { logProb: diagGaussian.logProb(pi, logStd, actions), entropy: diagGaussian.entropy(logStd) };
    return categorical.evaluate(pi, actions, mask);
  }

}

/** What `ActorCritic.forwardRecorded` keeps for `backward`: each tower's layer inputs, and the conv layers' images (or null). */
export interface Recorded {
  pi: tf.Tensor[];
  vf: tf.Tensor[];
  conv: tf.Tensor4D[] | null;
}

/**
 * The sampling side: a forward pass per step, then JS sampling with the worker's generator.
 * The forward pass is the policy and value networks fused into one (`fusedNet`), run by the
 * engine the runtime offers (onnxruntime) when it can, by tfjs otherwise. A recurrent policy
 * steps its cell on tfjs (`RecurrentForward`).
 */
export class ActorCriticPolicy implements SamplingPolicy {
  readonly net: ActorCritic;
  readonly engine: string;
  /** Why the engine offered was not used, or null. */
  readonly fallback: string | null;
  /** The fused feed-forward pass; null for a recurrent policy. */
  private readonly forward: Forward | null;
  /** A recurrent policy's step; null for a feed-forward one. */
  private readonly recurrent: RecurrentForward | null;
  private logStd: Float32Array | null;

  constructor(
    private readonly spec: PolicySpec,
    initLogStd = 0,
    engine?: ForwardEngine,
  ) {
    // Weights arrive with setParams; the seed only fills the variables until then.
    this.net = new ActorCritic(spec, spec.model, 0, initLogStd);
    if (this.net.cell) {
      this.forward = null;
      this.recurrent = new RecurrentForward(spec, this.net.getWeights());
      this.engine = 'tfjs';
      this.fallback = engine ? `${engine.name}: a recurrent policy (model.recurrent) runs on tfjs` : null;
      this.logStd = logStdOf(this.net.getWeights());
      return;
    }
    this.recurrent = null;
    const { net, logStd } = inferenceNet(this.net.getWeights(), spec);
    const chosen = forwardOn(engine, net);
    this.forward = chosen.forward;
    this.engine = chosen.engine;
    this.fallback = chosen.why;
    this.logStd = logStd;
  }

  act({ obs, numEnvs, state, mask, rng, deterministic }: ActInput): ActResult {
    const net = this.net;
    const recurrent = this.recurrent?.step(obs, numEnvs, state) ?? null;
    const data = recurrent ? recurrent.data : this.forward!.run(obs, numEnvs); // [numEnvs, actionSize + 1]: policy outputs, then the value
    const cols = net.actionSize + 1;
    const piOut = new Float32Array(numEnvs * net.actionSize);
    const value = new Float32Array(numEnvs);
    for (let r = 0; r < numEnvs; r++) {
      piOut.set(data.subarray(r * cols, r * cols + net.actionSize), r * net.actionSize);
      value[r] = data[r * cols + net.actionSize];
    }
    const logp = new Float32Array(numEnvs);
    let actions: Float32Array;
    if (net.discrete) {
      actions = new Float32Array(numEnvs);
      categorical.sample(piOut, net.actionSize, rng, deterministic, actions, logp, mask); // illegal actions: probability 0
    } else {
      actions = new Float32Array(numEnvs * net.actionSize);
      diagGaussian.sample(piOut, this.logStd!, rng, deterministic, actions, logp);
    }
    if (!recurrent) return { actions, columns: { logp, value }, state: {} };
    // The state acted from is recorded: the learner starts each training sequence from it.
    const columns: ActResult['columns'] = { logp, value };
    for (const name of net.cell!.stateNames) columns[stateColumn(name)] = state[name].slice();
    return { actions, columns, state: recurrent.state };
  }

  setParams({ weights }: PolicyParams): void {
    this.net.setWeights(weights); // checks every name and size
    this.logStd = logStdOf(weights);
    if (this.recurrent) return this.recurrent.setWeights(weights);
    this.forward!.setWeights(inferenceNet(weights, this.spec).net);
  }

  dispose(): void {
    this.forward?.dispose();
    this.recurrent?.dispose();
    this.net.dispose();
  }
}

/**
 * A recurrent policy's step for acting, on numbers read back: x Wx + bx (after the conv layers
 * and the input scaling, if any), h Wh + bh and the heads each one tfjs forward pass (a matmul
 * and a bias add or two); the cell's gates between them in plain loops (`cellStep`).
 */
class RecurrentForward {
  private readonly project: Forward;
  private readonly hidden: Forward;
  private readonly heads: Forward;
  private bh: Float32Array;

  constructor(
    private readonly spec: PolicySpec,
    weights: Weights,
  ) {
    const nets = recurrentNets(weights, spec);
    this.project = tfjsEngine.create(nets.project);
    this.hidden = tfjsEngine.create(nets.hidden);
    this.heads = tfjsEngine.create(nets.heads);
    this.bh = nets.bh;
  }

  /** The policy outputs then the value per env ([numEnvs, actionSize + 1]) from `state`, and the next state. */
  step(obs: ActInput['obs'], numEnvs: number, state: ActInput['state']): { data: Float32Array; state: Record<string, Float32Array> } {
    const r = this.spec.model.recurrent!;
    const names = recurrentStateNames(r.type);
    const xz = this.project.run(obs, numEnvs);
    const hz = this.hidden.run(state.h, numEnvs);
    const next = cellStep(r.type, r.size, numEnvs, xz, hz, this.bh, names.map((k) => state[k]));
    return { data: this.heads.run(next[0], numEnvs), state: Object.fromEntries(names.map((k, i) => [k, next[i]])) };
  }

  setWeights(weights: Weights): void {
    const nets = recurrentNets(weights, this.spec);
    this.project.setWeights(nets.project);
    this.hidden.setWeights(nets.hidden);
    this.heads.setWeights(nets.heads);
    this.bh = nets.bh;
  }

  dispose(): void {
    for (const f of [this.project, this.hidden, this.heads]) f.dispose();
  }
}

/** The layers of the policy and value towers (and the shared body, with `sharedLayers`) as `fusedNet` and `recurrentNets` lay them out. */
function bodyAndHeads(get: (name: string) => NamedTensor, model: ModelConfig): { shared: LayerSpec[]; towers: DenseSpec[][] } {
  const { hiddenSizes, activation, sharedLayers } = model;
  const body = (name: string) => hiddenSizes.map((_, i) => denseOf(get, `${name}/${i}`, activation));
  return {
    shared: sharedLayers ? body('shared') : [],
    towers: [
      [...(sharedLayers ? [] : body('pi')), denseOf(get, 'pi/out', 'linear')],
      [...(sharedLayers ? [] : body('vf')), denseOf(get, 'vf/out', 'linear')],
    ],
  };
}

/**
 * The policy and value networks for inference: the conv encoder (shared) as the trunk, then
 * the policy tower and its head and the value tower and its head; with `sharedLayers`, the
 * shared body joins the trunk and the towers are the two heads. The output per row: the
 * policy's outputs, then the value.
 */
function inferenceNet(weights: Weights, spec: PolicySpec): { net: ForwardNet; logStd: Float32Array | null } {
  const get = weightLookup(weights);
  const { shared, towers } = bodyAndHeads(get, spec.model);
  const trunk: LayerSpec[] = [...convLayers(spec.model, spec.observationSpace, get), ...shared];
  return { net: forwardNet(spec.observationSpace, trunk, towers), logStd: logStdOf(weights) };
}

/**
 * A recurrent policy's three nets: `project`, observations to x Wx + bx (the conv layers
 * first, if any); `hidden`, h to h Wh (a zero bias: bh is added with the gates, as the learner
 * adds it); `heads`, the cell's output h' to the policy's outputs then the value, as
 * `inferenceNet`'s towers.
 */
function recurrentNets(weights: Weights, spec: PolicySpec): { project: ForwardNet; hidden: ForwardNet; heads: ForwardNet; bh: Float32Array } {
  const get = weightLookup(weights);
  const size = spec.model.recurrent!.size;
  const { shared, towers } = bodyAndHeads(get, spec.model);
  const hidden = denseOf(get, 'rnn/h', 'linear');
  const onState = (trunk: LayerSpec[], t: DenseSpec[][]): ForwardNet => ({ obsSize: size, obsDtype: 'float32', inputScale: null, trunk, towers: t });
  return {
    project: forwardNet(spec.observationSpace, convLayers(spec.model, spec.observationSpace, get), [[denseOf(get, 'rnn/x', 'linear')]]),
    hidden: onState([], [[{ ...hidden, b: new Float32Array(hidden.outputs) }]]),
    heads: onState(shared, towers),
    bh: hidden.b,
  };
}

/** A Gaussian policy's log-std from its weights; null for a Discrete one. */
function logStdOf(weights: Weights): Float32Array | null {
  const logStd = weights.find((w) => w.name === 'pi/logStd');
  return logStd ? Float32Array.from(logStd.data) : null;
}
