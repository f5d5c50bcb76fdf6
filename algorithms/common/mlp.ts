import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../core/rng';
import type { FlatParams } from './flat-params';

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
    value: tf.add(timesWeights(x as tf.Tensor2D, w as tf.Tensor2D), b),
    gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => [
      timesWeightsT(dy as tf.Tensor2D, ws as tf.Tensor2D),
      tf.matMul(tf.transpose(xs) as tf.Tensor2D, dy as tf.Tensor2D),
      tf.sum(dy, 0),
    ],
  };
}) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/*
 * wasm's matmul (XNNPACK) packs its second operand anew for every new tensor, and a layer's
 * weights are new at every step: for a large W and few rows, W as the FIRST operand (not packed)
 * and the small operands transposed is faster. Measured (CPU ms, W copied fresh each call):
 * the Nature CNN's [3136, 512] layer, 32 rows: dy W^T 14.7 -> 4.8, x W 13.5 -> 6.1; [1024, 128],
 * 32 rows: dy W^T 1.7 -> 0.44 (x W 0.71 -> 1.36: not there); [576, 128], 256 rows: either way alike.
 */

/** x W, for x [M, K] and a layer's weights W [K, N]. */
function timesWeights(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const [m, k] = x.shape;
  const n = w.shape[1];
  if (k * n > 4 * m * (k + n)) return tf.transpose(tf.matMul(tf.transpose(w) as tf.Tensor2D, tf.transpose(x) as tf.Tensor2D)) as tf.Tensor2D;
  return tf.matMul(x, w);
}

/** dy W^T, for dy [M, N] and a layer's weights W [K, N]: dLoss/dx. */
function timesWeightsT(dy: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const [m, n] = dy.shape;
  const k = w.shape[0];
  if (k * n > m * (k + n)) return tf.transpose(tf.matMul(w, tf.transpose(dy) as tf.Tensor2D)) as tf.Tensor2D;
  return tf.matMul(dy, tf.transpose(w) as tf.Tensor2D);
}

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

type Tensors = Record<string, tf.Tensor>;

/** A fully connected layer y = x W + b, W initialised orthogonally with `gain` (as CleanRL and SB3 do), b = `bias` (default 0). */
export class Dense {
  /** The names of its weight matrix and bias in the FlatParams. */
  readonly w: string;
  readonly b: string;

  constructor(params: FlatParams, name: string, inputs: number, outputs: number, gain: number, rng: Rng, bias = new Float32Array(outputs)) {
    this.w = params.add(`${name}/w`, [inputs, outputs], () => orthogonal(inputs, outputs, gain, rng));
    this.b = params.add(`${name}/b`, [outputs], bias);
  }

  apply(p: Tensors, x: tf.Tensor): tf.Tensor {
    return denseOp(x, p[this.w], p[this.b]);
  }

  /**
   * `apply` with W and b held constant: the gradient reaches x alone (a network another's loss
   * reads, as SAC's critic in its actor's loss), without computing dW and db.
   */
  applyFrozen(p: Tensors, x: tf.Tensor): tf.Tensor {
    const w = p[this.w] as tf.Tensor2D;
    const b = p[this.b];
    const op = tf.customGrad(((...args: any[]) => {
      const [input] = args as [tf.Tensor];
      return { value: tf.add(timesWeights(input as tf.Tensor2D, w), b), gradFunc: (dy: tf.Tensor) => timesWeightsT(dy as tf.Tensor2D, w) };
    }) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
    return op(x);
  }

  /**
   * Inference only (no gradient, so no tape and no custom-gradient wrapper). A relu layer is
   * one fused kernel; measured on wasm, fusing the others (bias alone, or tanh) is slower.
   */
  infer(p: Tensors, x: tf.Tensor, activation: Activation | 'linear'): tf.Tensor {
    const [m, k] = x.shape;
    const n = p[this.b].shape[0];
    if (activation === 'relu' && k * n <= 4 * m * (k + n)) return tf.fused.matMul({ a: x as tf.Tensor2D, b: p[this.w] as tf.Tensor2D, bias: p[this.b], activation });
    const y = tf.add(timesWeights(x as tf.Tensor2D, p[this.w] as tf.Tensor2D), p[this.b]);
    return activation === 'linear' ? y : activate(y, activation);
  }

  /**
   * The layer's gradients for `dy` = dLoss/d(output, before any activation), given the input
   * it saw: dW = x^T dy and db = sum(dy) go into `grads`; returns dLoss/dx when `needInput`.
   */
  backward(p: Tensors, x: tf.Tensor, dy: tf.Tensor, grads: Tensors, needInput: boolean): tf.Tensor | null {
    grads[this.w] = tf.matMul(tf.transpose(x) as tf.Tensor2D, dy as tf.Tensor2D);
    grads[this.b] = tf.sum(dy, 0);
    return needInput ? timesWeightsT(dy as tf.Tensor2D, p[this.w] as tf.Tensor2D) : null;
  }
}

/** Hidden layers with an activation after each; `outputSize` is the last hidden size. */
export class Mlp {
  readonly layers: Dense[];
  readonly outputSize: number;

  constructor(params: FlatParams, name: string, inputs: number, hiddenSizes: number[], readonly activation: Activation, rng: Rng) {
    let size = inputs;
    this.layers = hiddenSizes.map((h, i) => {
      const layer = new Dense(params, `${name}/${i}`, size, h, Math.SQRT2, rng);
      size = h;
      return layer;
    });
    this.outputSize = size;
  }

  apply(p: Tensors, x: tf.Tensor): tf.Tensor {
    return this.layers.reduce((h, layer) => activate(layer.apply(p, h), this.activation), x);
  }

  /** `apply` with the layers' weights held constant (`Dense.applyFrozen`): the gradient reaches x alone. */
  applyFrozen(p: Tensors, x: tf.Tensor): tf.Tensor {
    return this.layers.reduce((h, layer) => activate(layer.applyFrozen(p, h), this.activation), x);
  }

  /** `apply` without gradients, in fewer kernels (see `Dense.infer`). */
  infer(p: Tensors, x: tf.Tensor): tf.Tensor {
    return this.layers.reduce((h, layer) => layer.infer(p, h, this.activation), x);
  }

  /** `infer`, keeping what `backward` needs: [x, h1, ..., hL] (the last is the output). */
  record(p: Tensors, x: tf.Tensor): tf.Tensor[] {
    const hs = [x];
    for (const layer of this.layers) hs.push(layer.infer(p, hs[hs.length - 1], this.activation));
    return hs;
  }

  /**
   * Backpropagates dLoss/d(output) through the layers recorded in `hs` (as `record` gave them,
   * or cut to the rows `dOut` has); each layer's dW and db go into `grads`. Returns dLoss/dx
   * when `needInput`.
   */
  backward(p: Tensors, hs: tf.Tensor[], dOut: tf.Tensor, grads: Tensors, needInput = false): tf.Tensor | null {
    let dh: tf.Tensor | null = dOut;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const out = hs[i + 1];
      // Through the activation, from its output: relu' = [out > 0], tanh' = 1 - out^2.
      const dz = this.activation === 'relu' ? tf.mul(dh!, tf.step(out)) : tf.mul(dh!, tf.sub(1, tf.square(out)));
      dh = this.layers[i].backward(p, hs[i], dz, grads, i > 0 || needInput);
    }
    return dh;
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
