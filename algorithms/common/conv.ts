import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../core/rng';
import type { SpaceSpec } from '../../core/spaces';
import type { ModelConfig } from '../../core/algorithm';
import { ConfigError } from '../../core/errors';
import type { FlatParams } from './flat-params';
import { activate, Dense } from './mlp';

/** One conv layer of `model.conv`: `filters` outputs of a `kernel` x `kernel` window moved by `stride`. */
export type ConvLayer = NonNullable<ModelConfig['conv']>[number];

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
 * Conv layers (relu after each) written as matmuls, for small images flattened row-major
 * (h, w, c) into the observation vector. tfjs' wasm backend has no Conv2DBackpropFilter, so
 * tf.conv2d cannot be trained there; here each layer is
 *
 *   patches = x P               x [b, h*w*c], P a constant 0/1 matrix [h*w*c, positions*window]
 *   y = relu(patches' W + bias) patches' = patches as [b*positions, window], W [window, filters]
 *
 * with window = kernel * kernel * c in (row, column, channel) order, so W is the HWIO filter of
 * tf.conv2d flattened, and y as [b, positions*filters] is the next layer's (h, w, c) image.
 * `padding: same` leaves the columns of windows over the border zero. P is dense: one Catch
 * layer (10x5x1, kernel 3) is 50 x 216 floats; a second layer of 16 channels on a 10x10 board
 * is 1024 x 5184 (21 MB, ~85 ms per 128-row forward on wasm, where a stride of 2 quarters it).
 * Measured on wasm: a matmul by P is 2-5x faster than tf.gather on Catch-sized layers and
 * within 2x of it at 1024 x 5184 (forward; gather's gradient is no faster), and a row-then-column
 * separable gather loses to both (its 6-D transpose is slow).
 *
 * W and the bias are `Dense` layers in the model's FlatParams (`${name}/${i}/w`, orthogonal
 * init with gain sqrt 2). The gradient through P is dy P^T with P^T kept as a second constant;
 * the first layer's is only taken when asked for (never in training), so it has no P^T.
 */
export class ConvEncoder {
  /** Floats per row of the output: the last layer's positions x filters. */
  readonly outputSize: number;
  /** The last layer's image [h, w, filters]. */
  readonly outputShape: [number, number, number];
  private readonly layers: { patches: (x: tf.Tensor) => tf.Tensor; dense: Dense; window: number; constants: tf.Tensor[] }[] = [];

  constructor(params: FlatParams, name: string, inputShape: [number, number, number], layers: ConvLayer[], rng: Rng) {
    // Every layer's geometry first, so that a kernel that does not fit throws before any tensor exists.
    const plans: { input: [number, number, number]; rows: Axis; cols: Axis }[] = [];
    let [h, w, c] = inputShape;
    layers.forEach((layer, i) => {
      const rows = geometry(h, layer.kernel, layer.stride, layer.padding);
      const cols = geometry(w, layer.kernel, layer.stride, layer.padding);
      if (rows.out < 1 || cols.out < 1) {
        throw new ConfigError(`model.conv[${i}].kernel (${layer.kernel}) is larger than its ${h} x ${w} input (padding: valid); use a smaller kernel or padding: same`);
      }
      plans.push({ input: [h, w, c], rows, cols });
      [h, w, c] = [rows.out, cols.out, layer.filters];
    });
    this.outputShape = [h, w, c];
    this.outputSize = h * w * c;
    layers.forEach((layer, i) => {
      const { input, rows, cols } = plans[i];
      const window = layer.kernel * layer.kernel * input[2];
      const p = tf.tensor2d(patchMatrix(input, layer, rows, cols), [input[0] * input[1] * input[2], rows.out * cols.out * window]);
      const pt = i === 0 ? null : tf.transpose(p);
      this.layers.push({
        patches: patchOp(p, pt),
        dense: new Dense(params, `${name}/${i}`, window, layer.filters, Math.SQRT2, rng),
        window,
        constants: pt ? [p, pt] : [p],
      });
    });
  }

  /** x [b, h*w*c] -> [b, outputSize]. */
  apply(p: Record<string, tf.Tensor>, x: tf.Tensor): tf.Tensor {
    const b = x.shape[0];
    return this.layers.reduce((h, l) => {
      const windows = tf.reshape(l.patches(h), [-1, l.window]);
      return tf.reshape(activate(l.dense.apply(p, windows), 'relu'), [b, -1]);
    }, x);
  }

  dispose(): void {
    tf.dispose(this.layers.flatMap((l) => l.constants));
  }
}

/** Outputs along one axis, and the zero pixels padded before the first. */
interface Axis {
  out: number;
  padBefore: number;
}

function geometry(size: number, kernel: number, stride: number, padding: ConvLayer['padding']): Axis {
  if (padding === 'valid') return { out: Math.floor((size - kernel) / stride) + 1, padBefore: 0 };
  // As TensorFlow pads: ceil(size / stride) outputs, the odd pixel of padding after.
  const out = Math.ceil(size / stride);
  return { out, padBefore: Math.floor(Math.max(0, (out - 1) * stride + kernel - size) / 2) };
}

/** The 0/1 matrix [h*w*c, positions*window] whose column (position, ky, kx, channel) picks that pixel, or nothing off the board. */
function patchMatrix([h, w, c]: [number, number, number], layer: ConvLayer, rows: Axis, cols: Axis): Float32Array {
  const k = layer.kernel;
  const width = rows.out * cols.out * k * k * c;
  const m = new Float32Array(h * w * c * width);
  let col = 0;
  for (let oy = 0; oy < rows.out; oy++) {
    for (let ox = 0; ox < cols.out; ox++) {
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++, col += c) {
          const y = oy * layer.stride + ky - rows.padBefore;
          const x = ox * layer.stride + kx - cols.padBefore;
          if (y < 0 || y >= h || x < 0 || x >= w) continue;
          for (let ch = 0; ch < c; ch++) m[((y * w + x) * c + ch) * width + col + ch] = 1;
        }
      }
    }
  }
  return m;
}

/** x -> x P, with the gradient dy P^T (a plain matmul: wasm's transposed matmul is 10-25x slower). */
function patchOp(p: tf.Tensor, pt: tf.Tensor | null): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad(((...args: any[]) => {
    const [x] = args as [tf.Tensor];
    return {
      value: tf.matMul(x as tf.Tensor2D, p as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, (pt ?? tf.transpose(p)) as tf.Tensor2D),
    };
  }) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
}
