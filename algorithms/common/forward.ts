import * as tf from '@tensorflow/tfjs';
import type { ModelConfig, NamedTensor, Observation, Weights } from '../../core/algorithm';
import { convSpecs, hasLow, inputScale, type DenseSpec, type Forward, type ForwardEngine, type ForwardNet, type InputScale, type LayerSpec } from '../../core/forward';
import type { SpaceSpec } from '../../core/spaces';
import { activate } from './mlp';
import { explicitPad } from './conv';
import { concatFloat32 } from '../../core/concat';

/**
 * A sampling policy's forward pass as a `ForwardNet` (plain layers holding its weights), run
 * by an engine: the runtime's (onnxruntime, `workers.inference`) when it offers one that runs
 * the net, tfjs otherwise. A policy builds its net from its weights at each `setParams` and
 * does its own sampling on the numbers the engine returns.
 */

/** The weights by name; a missing one throws, naming it. */
export function weightLookup(weights: Weights): (name: string) => NamedTensor {
  const byName = new Map(weights.map((w) => [w.name, w]));
  return (name) => {
    const w = byName.get(name);
    if (!w) throw new RangeError(`weights: no tensor ${name}`);
    return w;
  };
}

/** The conv layers of `model.conv` (none without), from the weights `conv/<i>/*`, over the observation image. */
export function convLayers(model: ModelConfig, observationSpace: SpaceSpec, get: (name: string) => NamedTensor): LayerSpec[] {
  if (!model.conv || model.conv.length === 0 || observationSpace.type !== 'Box') return [];
  return convSpecs(model, observationSpace.shape as [number, number, number], get).layers;
}

/** The net over observations of `observationSpace` (a uint8 Box's stay uint8 up to the network's input, where they are scaled: `inputScale`). */
export function forwardNet(observationSpace: SpaceSpec, trunk: LayerSpec[], towers: DenseSpec[][]): ForwardNet {
  const uint8 = observationSpace.type === 'Box' && observationSpace.dtype === 'uint8';
  const obsSize = observationSpace.type === 'Box' ? observationSpace.shape.reduce((a, d) => a * d, 1) : 1;
  return { obsSize, obsDtype: uint8 ? 'uint8' : 'float32', inputScale: inputScale(observationSpace), trunk, towers };
}

/**
 * Observations [rows, obsSize] as a network reads them, the learner's and every engine's alike:
 * float32, then (obs - low) * scale where `s` says (a uint8 Box's bounds to [0, 1]: `inputScale`).
 */
export function networkInput(obs: tf.Tensor, s: InputScale | null | undefined): tf.Tensor {
  let x = obs.dtype === 'float32' ? obs : tf.cast(obs, 'float32');
  if (!s) return x;
  const constant = (a: Float32Array) => (a.length === 1 ? tf.scalar(a[0]) : tf.tensor1d(a));
  if (hasLow(s)) x = tf.sub(x, constant(s.low));
  return tf.mul(x, constant(s.scale));
}

/** The dense layer `<name>/w`, `<name>/b` of the weights. */
export function denseOf(get: (name: string) => NamedTensor, name: string, activation: DenseSpec['activation']): DenseSpec {
  const w = get(`${name}/w`);
  return { kind: 'dense', inputs: w.shape[0], outputs: w.shape[1], activation, w: w.data, b: get(`${name}/b`).data };
}

/**
 * Towers of equal depth and activations as ONE chain of layers: the first layers' columns side
 * by side (they read the same input), deeper layers block-diagonal. For tfjs, whose sampling
 * cost is per-op dispatch, not the zeros multiplied: half the ops for the same numbers. Null
 * when the towers differ in depth or activations.
 */
export function fuseTowers(towers: DenseSpec[][]): DenseSpec[] | null {
  if (towers.length === 1) return towers[0];
  const depth = towers[0].length;
  if (towers.some((t) => t.length !== depth || t.some((l, j) => l.activation !== towers[0][j].activation))) return null;
  return towers[0].map((_, j): DenseSpec => {
    const ls = towers.map((t) => t[j]);
    const outputs = ls.reduce((a, l) => a + l.outputs, 0);
    const inputs = j === 0 ? ls[0].inputs : ls.reduce((a, l) => a + l.inputs, 0);
    const w = new Float32Array(inputs * outputs);
    let row = 0;
    let col = 0;
    for (const l of ls) {
      // Block (row, col) of the fused matrix; the first layers all read rows from 0.
      for (let r = 0; r < l.inputs; r++) w.set(l.w.subarray(r * l.outputs, (r + 1) * l.outputs), (row + r) * outputs + col);
      if (j > 0) row += l.inputs;
      col += l.outputs;
    }
    return { kind: 'dense', inputs, outputs, activation: ls[0].activation, w, b: concatFloat32(ls.map((l) => l.b)) };
  });
}

/**
 * A `ForwardNet` on tfjs: conv layers as `tf.conv2d` (inference only, which every backend has,
 * wasm included), dense layers as a matmul and a bias add (one fused kernel with relu, as
 * `Dense.infer` measured), tanh as `activate` computes it; the towers fused (`fuseTowers`).
 */
export const tfjsEngine: ForwardEngine = {
  name: 'tfjs',
  unsupported: () => null,
  create: (net) => new TfjsForward(net),
};

type TfjsLayer = { spec: LayerSpec; w: tf.Tensor; b: tf.Tensor };

class TfjsForward implements Forward {
  private trunk: TfjsLayer[] = [];
  /** The towers fused into one chain where they can be, else each. */
  private towers: TfjsLayer[][] = [];

  constructor(private readonly net: ForwardNet) {
    this.setWeights(net);
  }

  run(obs: Observation, rows: number): Float32Array {
    const out = tf.tidy(() => {
      const x = chain(networkInput(tf.tensor2d(obs, [rows, this.net.obsSize], 'float32'), this.net.inputScale), this.trunk, rows);
      const outs = this.towers.map((t) => chain(x, t, rows));
      return outs.length === 1 ? outs[0] : tf.concat(outs, 1);
    });
    const data = out.dataSync() as Float32Array;
    out.dispose();
    return data;
  }

  setWeights(net: ForwardNet): void {
    this.dispose();
    const fused = fuseTowers(net.towers);
    this.trunk = net.trunk.map(tensorsOf);
    this.towers = (fused ? [fused] : net.towers).map((t) => t.map(tensorsOf));
  }

  dispose(): void {
    tf.dispose([...this.trunk, ...this.towers.flat()].flatMap((l) => [l.w, l.b]));
    this.trunk = [];
    this.towers = [];
  }
}

function tensorsOf(spec: LayerSpec): TfjsLayer {
  const w = spec.kind === 'conv' ? tf.tensor4d(spec.w, [spec.kernel, spec.kernel, spec.input[2], spec.output[2]]) : tf.tensor2d(spec.w, [spec.inputs, spec.outputs]);
  return { spec, w, b: tf.tensor1d(spec.b) };
}

/** `layers` on `x` [rows, features] (an image's NHWC flattened); the output flattened the same way. */
function chain(x: tf.Tensor, layers: TfjsLayer[], rows: number): tf.Tensor {
  let h = x;
  let image = false;
  for (const { spec: l, w, b } of layers) {
    if (l.kind === 'conv') {
      if (!image) h = tf.reshape(h, [rows, ...l.input]);
      image = true;
      h = tf.fused.conv2d({ x: h as tf.Tensor4D, filter: w as tf.Tensor4D, strides: l.stride, pad: explicitPad(l.padding, { before: l.pads.top, after: l.pads.bottom }, { before: l.pads.left, after: l.pads.right }), bias: b, activation: 'relu' });
      continue;
    }
    if (image) h = tf.reshape(h, [rows, -1]);
    image = false;
    if (l.activation === 'relu') h = tf.fused.matMul({ a: h as tf.Tensor2D, b: w as tf.Tensor2D, bias: b, activation: 'relu' });
    else {
      h = tf.add(tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D), b);
      if (l.activation === 'tanh') h = activate(h, 'tanh');
    }
  }
  return image ? tf.reshape(h, [rows, -1]) : h;
}

/**
 * The forward pass of `net` on `engine` when it runs it, else on tfjs; `engine` names the one
 * chosen, `why` says why an engine offered was not (null when it was, or none was offered).
 */
export function forwardOn(engine: ForwardEngine | undefined, net: ForwardNet): { forward: Forward; engine: string; why: string | null } {
  const why = engine ? engine.unsupported(net) : null;
  const chosen = engine && !why ? engine : tfjsEngine;
  return { forward: chosen.create(net), engine: chosen.name, why: why && `${engine!.name}: ${why}` };
}
