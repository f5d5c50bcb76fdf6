import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../core/errors';
import { Rng } from '../../core/rng';
import type { SpaceSpec } from '../../core/spaces';
import type { ActInput, ActResult, ModelConfig, PolicyParams, PolicySpec, SamplingPolicy, TensorShape, Weights } from '../../core/algorithm';
import { inputScale, type Forward, type ForwardEngine, type ForwardNet, type InputScale, type LayerSpec } from '../../core/forward';
import { ConvEncoder, convInputShape } from '../common/conv';
import { countLegal, greedyAction, nthLegal } from '../common/mask';
import { Dense, Mlp } from '../common/mlp';
import { FlatModel } from '../common/flat-model';
import { convLayers, denseOf, forwardNet, forwardOn, weightLookup } from '../common/forward';

type Tensors = Record<string, tf.Tensor>;

/** What `QNetwork.backward` needs of a forward pass: every layer's input, and the body's output last. */
export interface Recorded {
  inputs: tf.Tensor[];
  /** The conv layers' images (`ConvEncoder.record`), or null without them. */
  conv: tf.Tensor4D[] | null;
}

/** The scalar that carries the workers' exploration rate with the weights (`PolicyParams.scalars`). */
export const EPSILON = 'epsilon';

/**
 * A Q-network for Discrete actions: with `model.conv`, conv layers over the image first; an
 * MLP body, then either one head of Q-values or, with `dueling`, a value head and an
 * advantage head joined as Q = V + A - mean(A) (Wang et al., 2016).
 */
export class QNetwork extends FlatModel {
  readonly obsSize: number;
  readonly numActions: number;
  /** Conv layers over an image observation, or null. */
  readonly encoder: ConvEncoder | null;
  readonly inputScale: InputScale | null;
  private readonly body: Mlp;
  private readonly head: Dense;
  private readonly valueHead: Dense | null;

  constructor(spaces: { observationSpace: SpaceSpec; actionSpace: SpaceSpec }, model: ModelConfig, dueling: boolean, seed: number) {
    super();
    const { observationSpace: obs, actionSpace: act } = spaces;
    if (act.type !== 'Discrete') throw new ConfigError(`algorithm: dqn needs a Discrete action space; this env's actions are Box(shape=[${act.shape}]) (use ppo)`);
    if (obs.type !== 'Box') throw new RangeError('DQN needs a Box observation space');
    const rng = new Rng(seed);
    this.obsSize = obs.shape.reduce((a, b) => a * b, 1);
    this.numActions = act.n;
    this.inputScale = inputScale(obs);
    const image = convInputShape(model, obs);
    this.encoder = image ? new ConvEncoder(this.params, 'conv', image, model.conv!, rng) : null;
    this.body = new Mlp(this.params, 'q', this.encoder?.outputSize ?? this.obsSize, model.hiddenSizes, model.activation, rng);
    this.head = new Dense(this.params, dueling ? 'q/advantage' : 'q/out', this.body.outputSize, this.numActions, 1, rng);
    this.valueHead = dueling ? new Dense(this.params, 'q/value', this.body.outputSize, 1, 1, rng) : null;
  }

  /** The tensors of the network of `spec` (nothing is built: the variable and the conv constants are made on first use). */
  static shapesOf(spec: PolicySpec, dueling: boolean): TensorShape[] {
    const net = new QNetwork(spec, spec.model, dueling, 0);
    try {
      return net.params.shapes();
    } finally {
      net.dispose();
    }
  }

  /**
   * Q-values [batch, numActions] of `obs` [batch, obsSize], with parameters `p` (from
   * `params.unpack()`). `inference`: no gradient needed, so fewer (fused) kernels.
   */
  forward(p: Tensors, obs: tf.Tensor, inference = false): tf.Tensor2D {
    const input = this.input(obs);
    const x = this.encoder ? (inference ? this.encoder.infer(p, input) : this.encoder.apply(p, input)) : input;
    const h = inference ? this.body.infer(p, x) : this.body.apply(p, x);
    const head = (d: Dense) => (inference ? d.infer(p, h, 'linear') : d.apply(p, h));
    const out = head(this.head);
    if (!this.valueHead) return out as tf.Tensor2D;
    return tf.add(head(this.valueHead), tf.sub(out, tf.mean(out, 1, true))) as tf.Tensor2D;
  }

  /**
   * The gradient of a loss with respect to all parameters, flat, written out by hand: given
   * `dq` = dLoss/dQ for the first `rows` rows of `x`, backpropagates through the layers
   * recorded by `forwardRecorded`. Q-learning's step needs no more than this, and doing it
   * without tfjs' tape saves the copy it makes of every op's inputs (half the kernels), conv
   * layers included.
   */
  backward(p: Tensors, rec: Recorded, dq: tf.Tensor2D, rows: number): tf.Tensor1D {
    const grads: Record<string, tf.Tensor> = {};
    const hs = rec.inputs.map((t) => (t.shape[0] === rows ? t : tf.slice(t, [0, 0], [rows, t.shape[1]!])));
    const h = hs[hs.length - 1];
    let dh: tf.Tensor;
    if (this.valueHead) {
      // Q = V + A - mean(A): dV = sum(dQ), dA = dQ - mean(dQ)
      const dv = tf.sum(dq, 1, true);
      const da = tf.sub(dq, tf.mean(dq, 1, true));
      dh = tf.add(this.head.backward(p, h, da, grads, true)!, this.valueHead.backward(p, h, dv, grads, true)!);
    } else {
      dh = this.head.backward(p, h, dq, grads, true)!;
    }
    const dFeatures = this.body.backward(p, hs, dh, grads, rec.conv !== null);
    if (rec.conv) this.encoder!.backward(p, rec.conv.map((t) => (t.shape[0] === rows ? t : tf.slice(t, [0, 0, 0, 0], [rows, -1, -1, -1]))), dFeatures!, grads);
    return this.params.pack(grads);
  }

  /** Inference-mode forward that keeps each layer's input, for `backward`. */
  forwardRecorded(p: Tensors, obs: tf.Tensor2D): { q: tf.Tensor2D; rec: Recorded } {
    const x = this.input(obs);
    const conv = this.encoder ? this.encoder.record(p, x) : null;
    const inputs = this.body.record(p, conv ? tf.reshape(conv[conv.length - 1], [obs.shape[0], -1]) : x);
    const h = inputs[inputs.length - 1];
    const out = this.head.infer(p, h, 'linear');
    const q = this.valueHead ? tf.add(this.valueHead.infer(p, h, 'linear'), tf.sub(out, tf.mean(out, 1, true))) : out;
    return { q: q as tf.Tensor2D, rec: { inputs, conv } };
  }

}

/**
 * The sampling side of DQN: greedy actions of the Q-network, a random one with probability
 * epsilon. Epsilon arrives with the weights as the scalar `epsilon`, or is fixed per worker.
 * The forward pass (`qNet`) runs on the engine the runtime offers (onnxruntime) when it can,
 * on tfjs otherwise.
 */
export class QPolicy implements SamplingPolicy {
  private readonly net: QNetwork;
  readonly engine: string;
  /** Why the engine offered was not used, or null. */
  readonly fallback: string | null;
  private readonly forward: Forward;
  private epsilon = 1;

  /** `fixedEpsilon`: this worker's own rate (Ape-X); otherwise the broadcast one. */
  constructor(
    private readonly spec: PolicySpec,
    private readonly dueling: boolean,
    private readonly fixedEpsilon: number | null,
    engine?: ForwardEngine,
  ) {
    this.net = new QNetwork(spec, spec.model, dueling, 0);
    if (fixedEpsilon !== null) this.epsilon = fixedEpsilon;
    const chosen = forwardOn(engine, qNet(this.net.getWeights(), spec, dueling));
    this.forward = chosen.forward;
    this.engine = chosen.engine;
    this.fallback = chosen.why;
  }

  act({ obs, numEnvs, mask, rng, deterministic }: ActInput): ActResult {
    const A = this.net.numActions;
    const out = this.forward.run(obs, numEnvs);
    const values = this.dueling ? duelingQ(out, A) : out;
    const epsilon = deterministic ? 0 : this.epsilon;
    const actions = new Float32Array(numEnvs);
    for (let e = 0; e < numEnvs; e++) {
      const row = mask ? mask.subarray(e * A, (e + 1) * A) : null;
      // With a mask, the random action is drawn among the legal ones and the greedy one is the best legal one.
      if (epsilon > 0 && rng.random() < epsilon) actions[e] = row ? nthLegal(row, rng.int(countLegal(row))) : rng.int(A);
      else actions[e] = greedyAction(values, e * A, A, row);
    }
    return { actions, columns: {}, state: {} };
  }

  setParams({ weights, scalars }: PolicyParams): void {
    this.net.setWeights(weights); // checks every name and size
    this.forward.setWeights(qNet(weights, this.spec, this.dueling));
    const eps = scalars[EPSILON];
    if (eps !== undefined && this.fixedEpsilon === null) this.epsilon = eps;
  }

  get currentEpsilon(): number {
    return this.epsilon;
  }

  dispose(): void {
    this.forward.dispose();
    this.net.dispose();
  }
}

/** The Q-network for inference: conv layers and the body as the trunk; the head (dueling: the advantages, then the value: [A + 1] outputs). */
function qNet(weights: Weights, spec: PolicySpec, dueling: boolean): ForwardNet {
  const get = weightLookup(weights);
  const trunk: LayerSpec[] = [...convLayers(spec.model, spec.observationSpace, get), ...spec.model.hiddenSizes.map((_, i) => denseOf(get, `q/${i}`, spec.model.activation))];
  const towers = dueling ? [[denseOf(get, 'q/advantage', 'linear')], [denseOf(get, 'q/value', 'linear')]] : [[denseOf(get, 'q/out', 'linear')]];
  return forwardNet(spec.observationSpace, trunk, towers);
}

/** Q = V + A - mean(A) per row, from rows of [A advantages, V]. */
function duelingQ(out: Float32Array, A: number): Float32Array {
  const rows = out.length / (A + 1);
  const q = new Float32Array(rows * A);
  for (let r = 0; r < rows; r++) {
    const o = r * (A + 1);
    let mean = 0;
    for (let a = 0; a < A; a++) mean += out[o + a];
    mean /= A;
    for (let a = 0; a < A; a++) q[r * A + a] = out[o + A] + (out[o + a] - mean);
  }
  return q;
}
