import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../core/rng';
import type { FlatParams } from './flat-params';
import { activate, Dense } from './mlp';

/** The recurrent cells a model can hold (`model.recurrent.type`). */
export type RecurrentType = 'lstm' | 'gru';

type Tensors = Record<string, tf.Tensor>;

/** A cell's state entries, in the order its `step` takes and gives them. */
export function recurrentStateNames(type: RecurrentType): string[] {
  return type === 'lstm' ? ['h', 'c'] : ['h'];
}

/** The batch column in which a recurrent policy records the state entry `name` it acted from. */
export const stateColumn = (name: string): string => `state/${name}`;

/** tanh as the MLPs compute it (through sigmoid: wasm's tanh kernel is slow). */
const tanh = (x: tf.Tensor): tf.Tensor => activate(x, 'tanh');

/**
 * One recurrent cell (LSTM or GRU) as plain tfjs ops on FlatParams, unrolled step by step so
 * that tfjs' tape differentiates it (backpropagation through time over the unrolled ops).
 *
 * LSTM (Hochreiter & Schmidhuber 1997, with a forget gate; gates in the order i, f, g, o):
 *   z = x Wx + bx + h Wh + bh          (4 * size columns)
 *   i = sigmoid(z_i), f = sigmoid(z_f), g = tanh(z_g), o = sigmoid(z_o)
 *   c' = f c + i g,  h' = o tanh(c')
 * GRU (Cho et al. 2014, as PyTorch writes it; gates r, z, n):
 *   a = x Wx + bx, b = h Wh + bh       (3 * size columns)
 *   r = sigmoid(a_r + b_r), z = sigmoid(a_z + b_z), n = tanh(a_n + r b_n)
 *   h' = (1 - z) n + z h
 * Weights orthogonal (gain 1), biases zero except the LSTM's forget gate at 1 (Jozefowicz et
 * al. 2015: remember by default). The state is `h` (and `c`), `size` floats per row each.
 */
export class RecurrentCell {
  /** The state's entries, in the order `step` takes and gives them: ['h', 'c'] (LSTM) or ['h'] (GRU). */
  readonly stateNames: string[];
  private readonly input: Dense;
  private readonly hidden: Dense;

  constructor(params: FlatParams, name: string, inputs: number, readonly size: number, readonly type: RecurrentType, rng: Rng) {
    const gates = type === 'lstm' ? 4 : 3;
    const bias = new Float32Array(gates * size);
    if (type === 'lstm') bias.fill(1, size, 2 * size);
    this.input = new Dense(params, `${name}/x`, inputs, gates * size, 1, rng, bias);
    this.hidden = new Dense(params, `${name}/h`, size, gates * size, 1, rng);
    this.stateNames = recurrentStateNames(type);
  }

  /** x Wx + bx for every row at once ([rows, inputs] -> [rows, gates * size]): the part of each step that does not wait for the previous one. */
  project(p: Tensors, x: tf.Tensor): tf.Tensor {
    return this.input.apply(p, x);
  }

  /** One step from the projected input `xz` [B, gates * size] and the state [B, size] each; returns the next state (h first). */
  step(p: Tensors, xz: tf.Tensor, state: tf.Tensor[]): tf.Tensor[] {
    const h = state[0];
    const hz = this.hidden.apply(p, h);
    if (this.type === 'lstm') {
      const [zi, zf, zg, zo] = tf.split(tf.add(xz, hz), 4, 1);
      const c = tf.add(tf.mul(tf.sigmoid(zf), state[1]), tf.mul(tf.sigmoid(zi), tanh(zg)));
      return [tf.mul(tf.sigmoid(zo), tanh(c)), c];
    }
    const [ar, az, an] = tf.split(xz, 3, 1);
    const [br, bz, bn] = tf.split(hz, 3, 1);
    const r = tf.sigmoid(tf.add(ar, br));
    const z = tf.sigmoid(tf.add(az, bz));
    const n = tanh(tf.add(an, tf.mul(r, bn)));
    return [tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h))];
  }

  /**
   * The cell over `length` steps of `batch` sequences, time-major: `x` [length * batch, inputs]
   * (row t * batch + s), `state` the state at each sequence's start ([batch, size] each).
   * Returns every step's output h, time-major [length * batch, size], and the final state.
   * No reset inside: the caller cuts sequences where episodes start.
   */
  unroll(p: Tensors, x: tf.Tensor, state: tf.Tensor[], length: number): { outputs: tf.Tensor; state: tf.Tensor[] } {
    const batch = x.shape[0] / length;
    if (!Number.isInteger(batch)) throw new RangeError(`recurrent: ${x.shape[0]} rows are not ${length} steps of whole sequences`);
    const xz = this.project(p, x);
    const steps = length === 1 ? [xz] : tf.split(xz, length, 0);
    const outputs: tf.Tensor[] = [];
    let s = state;
    for (const xt of steps) {
      s = this.step(p, xt, s);
      outputs.push(s[0]);
    }
    return { outputs: length === 1 ? outputs[0] : tf.concat(outputs, 0), state: s };
  }
}
