import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../core/rng';
import type { SpaceSpec } from '../../core/spaces';
import type { ModelConfig } from '../../core/algorithm';
import { ConfigError } from '../../core/errors';
import { convAxis } from '../../core/forward';
import { convFilterGrad, convInputGrad } from './conv-backward';
import type { FlatParams } from './flat-params';
import { Dense } from './mlp';

/** One conv layer of `model.conv`: `filters` outputs of a `kernel` x `kernel` window moved by `stride`. */
export type ConvLayer = NonNullable<ModelConfig['conv']>[number];

type Tensors = Record<string, tf.Tensor>;

/**
 * The image shape [h, w, c] a conv encoder reads, or null when `model.conv` is empty (no
 * encoder). Throws a ConfigError when conv layers are asked for but observations are not images.
 */
export function convInputShape(model: ModelConfig, obs: SpaceSpec): [number, number, number] | null {
  if (!model.conv || model.conv.length === 0) return null;
  if (obs.type !== 'Box' || obs.shape.length !== 3) {
    const got = obs.type === 'Box' ? `Box(${obs.shape.join(', ')})` : `Discrete(${obs.n})`;
    throw new ConfigError(`model.conv (${model.conv.length} layers) needs an image observation space Box(h, w, c), but the env's is ${got}; remove model.conv for this env`);
  }
  return obs.shape as [number, number, number];
}

/**
 * Conv layers (relu after each) over images flattened row-major (h, w, c) into the observation
 * vector, as the model's `input` gives them (float32, a uint8 Box's scaled to [0, 1]); integers
 * given directly are cast to float here.
 *
 * The forward pass is tf.conv2d (fused with the bias and relu). tfjs' wasm backend has no
 * Conv2DBackpropFilter, and its Conv2DBackpropInput is a plain loop (95-115 ms on the Nature
 * CNN's layers, against 5-15 ms for the forward), so the gradient is written out as two more
 * forward convs, which wasm runs through XNNPACK (conv-backward.ts): memory and arithmetic grow
 * with the layer, as the forward's do.
 *
 * W and the bias are `Dense` layers in the model's FlatParams (`${name}/${i}/w` [k*k*c, filters],
 * orthogonal init with gain sqrt 2): W is tf.conv2d's HWIO filter flattened, the layout the
 * dense patch-matrix encoder before it had, so checkpoints and exports read the same.
 */
export class ConvEncoder {
  /** Floats per row of the output: the last layer's positions x filters. */
  readonly outputSize: number;
  /** The last layer's image [h, w, filters]. */
  readonly outputShape: [number, number, number];
  readonly layers: ConvPlan[] = [];
  private readonly ops: { withInput: ConvOp; withoutInput: ConvOp }[] = [];

  constructor(params: FlatParams, name: string, readonly inputShape: [number, number, number], layers: ConvLayer[], rng: Rng) {
    // Every layer's geometry first, so that a kernel that does not fit throws before any parameter is added.
    let [h, w, c] = inputShape;
    const plans = layers.map((layer, i) => {
      const rows = convAxis(h, layer.kernel, layer.stride, layer.padding);
      const cols = convAxis(w, layer.kernel, layer.stride, layer.padding);
      if (rows.out < 1 || cols.out < 1) {
        throw new ConfigError(`model.conv[${i}].kernel (${layer.kernel}) is larger than its ${h} x ${w} input (padding: valid); use a smaller kernel or padding: same`);
      }
      const input: [number, number, number] = [h, w, c];
      [h, w, c] = [rows.out, cols.out, layer.filters];
      return { layer, input, rows, cols };
    });
    this.outputShape = [h, w, c];
    this.outputSize = h * w * c;
    plans.forEach((plan, i) => {
      const { layer, input } = plan;
      const dense = new Dense(params, `${name}/${i}`, layer.kernel * layer.kernel * input[2], layer.filters, Math.SQRT2, rng);
      const full: ConvPlan = { ...plan, w: dense.w, b: dense.b, output: [plan.rows.out, plan.cols.out, layer.filters] };
      this.layers.push(full);
      this.ops.push({ withInput: convOp(full, true), withoutInput: convOp(full, false) });
    });
  }

  /**
   * x [b, h*w*c] -> [b, outputSize]. The observation is data: no gradient flows back to it
   * unless `inputGradient` (a test's; the first layer's would cost as much as the rest).
   */
  apply(p: Tensors, x: tf.Tensor, inputGradient = false): tf.Tensor {
    const b = x.shape[0];
    let h = tf.reshape(toFloat(x), [b, ...this.inputShape]) as tf.Tensor4D;
    this.layers.forEach((l, i) => {
      const op = i > 0 || inputGradient ? this.ops[i].withInput : this.ops[i].withoutInput;
      h = op(h, filterOf(p, l), p[l.b]);
    });
    return tf.reshape(h, [b, this.outputSize]);
  }

  /** `apply` without gradients: one fused kernel per layer. */
  infer(p: Tensors, x: tf.Tensor): tf.Tensor {
    const b = x.shape[0];
    let h = tf.reshape(toFloat(x), [b, ...this.inputShape]) as tf.Tensor4D;
    for (const l of this.layers) h = convForward(h, filterOf(p, l), p[l.b], l);
    return tf.reshape(h, [b, this.outputSize]);
  }

  /** `infer`, keeping what `backward` needs: [image, y1, ..., yL], each [b, h, w, c] (yL is the output's image). */
  record(p: Tensors, x: tf.Tensor): tf.Tensor4D[] {
    const hs = [tf.reshape(toFloat(x), [x.shape[0], ...this.inputShape]) as tf.Tensor4D];
    for (const l of this.layers) hs.push(convForward(hs[hs.length - 1], filterOf(p, l), p[l.b], l));
    return hs;
  }

  /**
   * The written-out gradient: backpropagates dLoss/d(output) [b, outputSize] through the layers
   * `record` gave `hs` for; each layer's dW and db go into `grads`. Nothing flows to the image.
   */
  backward(p: Tensors, hs: tf.Tensor4D[], dOut: tf.Tensor, grads: Tensors): void {
    let dy = tf.reshape(dOut, hs[hs.length - 1].shape) as tf.Tensor4D;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i];
      const g = layerBackward(dy, hs[i], filterOf(p, l), hs[i + 1], l, i > 0);
      grads[l.w] = tf.reshape(g.dFilter, [-1, l.layer.filters]);
      grads[l.b] = g.dBias;
      if (g.dx) dy = g.dx;
    }
  }

  /** Nothing to free: the encoder holds no tensors of its own (its parameters are the model's). */
  dispose(): void {}
}

/** A layer's geometry and the names of its parameters. */
export interface ConvPlan {
  layer: ConvLayer;
  input: [number, number, number];
  output: [number, number, number];
  rows: Axis;
  cols: Axis;
  w: string;
  b: string;
}

/** Outputs along one axis, and the zero pixels padded before the first and after the last window (`convAxis`). */
export type Axis = ReturnType<typeof convAxis>;

function toFloat(x: tf.Tensor): tf.Tensor {
  return x.dtype === 'float32' ? x : tf.cast(x, 'float32');
}

function filterOf(p: Tensors, l: ConvPlan): tf.Tensor4D {
  return tf.reshape(p[l.w], [l.layer.kernel, l.layer.kernel, l.input[2], l.layer.filters]) as tf.Tensor4D;
}

/** relu(conv2d(x, filter) + bias) in one kernel. */
export function convForward(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor, l: ConvPlan): tf.Tensor4D {
  return tf.fused.conv2d({ x, filter, strides: l.layer.stride, pad: explicitPad(l.layer.padding, l.rows, l.cols), bias, activation: 'relu' });
}

/**
 * 'same' as explicit zero rows and columns (TensorFlow's: the odd one after). tfjs-backend-wasm
 * 4.22 gets 'same' wrong when a stride passes the kernel and the windows end short of the image
 * (TensorFlow's padding total is then negative, clipped to 0: 9 rows, kernel 2, stride 3): its
 * outputs differ from every other backend's, and from the exports'. Explicit padding is right
 * everywhere.
 */
export function explicitPad(padding: ConvLayer['padding'], rows: Pick<Axis, 'before' | 'after'>, cols: Pick<Axis, 'before' | 'after'>): 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  return padding === 'valid' ? 'valid' : [[0, 0], [rows.before, rows.after], [cols.before, cols.after], [0, 0]];
}

type ConvOp = (x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor) => tf.Tensor4D;

/** `convForward` with its gradient written out (conv-backward.ts); dx only when `withInput`, zeros otherwise. */
function convOp(l: ConvPlan, withInput: boolean): ConvOp {
  return tf.customGrad(((...args: any[]) => {
    const [x, filter, bias, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor, tf.GradSaveFunc];
    const y = convForward(x, filter, bias, l);
    save([x, filter, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [xs, fs, ys]: tf.Tensor[]) => {
        const g = layerBackward(dy as tf.Tensor4D, xs as tf.Tensor4D, fs as tf.Tensor4D, ys as tf.Tensor4D, l, withInput);
        return [g.dx ?? tf.zerosLike(xs), g.dFilter, g.dBias];
      },
    };
  }) as Parameters<typeof tf.customGrad>[0]) as unknown as ConvOp;
}

/** A layer's gradients from dLoss/dy (after the relu), given its input x, filter and output y; dx only when `withInput`. */
function layerBackward(dy: tf.Tensor4D, x: tf.Tensor4D, filter: tf.Tensor4D, y: tf.Tensor4D, l: ConvPlan, withInput: boolean): { dx: tf.Tensor4D | null; dFilter: tf.Tensor4D; dBias: tf.Tensor } {
  const dz = tf.mul(dy, tf.step(y)) as tf.Tensor4D;
  return { dx: withInput ? convInputGrad(dz, filter, l) : null, dFilter: convFilterGrad(x, dz, l), dBias: tf.sum(dz, [0, 1, 2]) };
}
