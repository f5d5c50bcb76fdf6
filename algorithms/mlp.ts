import * as tf from '@tensorflow/tfjs';
import { Rng } from '../envs/rng';

/**
 * Dense layers and MLPs as plain tfjs variables.
 *
 * `dense` and `tanh` carry their own gradients: tfjs' default gradient of `matMul` uses
 * transposed matmuls, which the wasm backend runs 10-25x slower than a plain one; an explicit
 * transpose then a plain matmul gives the same numbers at a third of the training step's time.
 * Likewise wasm's `tanh` kernel is ~6x slower than `sigmoid`, and tanh(x) = 2 sigmoid(2x) - 1.
 */
const denseOp = tf.customGrad(((...args: any[]) => {
  const [x, w, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b),
    gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => [
      tf.matMul(dy as tf.Tensor2D, tf.transpose(ws) as tf.Tensor2D),
      tf.matMul(tf.transpose(xs) as tf.Tensor2D, dy as tf.Tensor2D),
      tf.sum(dy, 0),
    ],
  };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;

const tanhOp = tf.customGrad(((...args: any[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const y = tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1);
  save([y]);
  return { value: y, gradFunc: (dy: tf.Tensor, [ys]: tf.Tensor[]) => tf.mul(dy, tf.sub(1, tf.square(ys))) };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

export type Activation = 'tanh' | 'relu';

export function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  return activation === 'tanh' ? tanhOp(x) : tf.relu(x);
}

/**
 * A trainable tensor and its name in the model. (tfjs variable names must be unique in the
 * whole process, and a learner and a local sampling policy hold the same model twice.)
 */
export interface Param {
  name: string;
  variable: tf.Variable;
}

/** A fully connected layer y = x W + b, W initialised orthogonally with `gain` (as CleanRL and SB3 do), b = 0. */
export class Dense {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  readonly params: Param[];

  constructor(readonly name: string, inputs: number, outputs: number, gain: number, rng: Rng) {
    this.w = tf.variable(tf.tensor2d(orthogonal(inputs, outputs, gain, rng), [inputs, outputs]));
    this.b = tf.variable(tf.zeros([outputs]));
    this.params = [
      { name: `${name}/w`, variable: this.w },
      { name: `${name}/b`, variable: this.b },
    ];
  }

  apply(x: tf.Tensor): tf.Tensor {
    return denseOp(x, this.w, this.b);
  }
}

/** Hidden layers with an activation after each; `outputSize` is the last hidden size. */
export class Mlp {
  readonly layers: Dense[];
  readonly outputSize: number;

  constructor(name: string, inputs: number, hiddenSizes: number[], readonly activation: Activation, rng: Rng) {
    let size = inputs;
    this.layers = hiddenSizes.map((h, i) => {
      const layer = new Dense(`${name}/${i}`, size, h, Math.SQRT2, rng);
      size = h;
      return layer;
    });
    this.outputSize = size;
  }

  apply(x: tf.Tensor): tf.Tensor {
    return this.layers.reduce((h, layer) => activate(layer.apply(h), this.activation), x);
  }

  get params(): Param[] {
    return this.layers.flatMap((l) => l.params);
  }
}

/**
 * A [rows, cols] matrix with orthonormal columns (or rows, if fewer), times `gain`:
 * Gram-Schmidt on a seeded Gaussian matrix.
 */
export function orthogonal(rows: number, cols: number, gain: number, rng: Rng): Float32Array {
  const n = Math.max(rows, cols);
  const k = Math.min(rows, cols);
  // k vectors of length n, made orthonormal one by one.
  const q: Float64Array[] = [];
  while (q.length < k) {
    const v = Float64Array.from({ length: n }, () => rng.normal());
    for (const u of q) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += u[i] * v[i];
      for (let i = 0; i < n; i++) v[i] -= dot * u[i];
    }
    const norm = Math.hypot(...v);
    if (norm < 1e-6) continue; // a (vanishingly unlikely) dependent draw: draw again
    for (let i = 0; i < n; i++) v[i] /= norm;
    q.push(v);
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // Orthonormal columns when rows >= cols, orthonormal rows otherwise.
      out[r * cols + c] = gain * (rows >= cols ? q[c][r] : q[r][c]);
    }
  }
  return out;
}
