import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../core/rng';
import type { FlatParams } from './flat-params';
import { Dense } from './mlp';
import { recurrenceBackward, recurrenceForward } from './recurrence';
import { gatesOf, gruForward, lstmForward, type RecurrentType, type StepForward } from './recurrent-steps';

export { gatesOf, type RecurrentType };

type Tensors = Record<string, tf.Tensor>;

/** A cell's state entries, in the order its `step` takes and gives them. */
export function recurrentStateNames(type: RecurrentType): string[] {
  return type === 'lstm' ? ['h', 'c'] : ['h'];
}

/** The batch column in which a recurrent policy records the state entry `name` it acted from. */
export const stateColumn = (name: string): string => `state/${name}`;

/**
 * One recurrent cell (LSTM or GRU) on FlatParams, for the learner (differentiable) and for acting.
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
 *
 * x Wx + bx is one matmul over every row of a sequence (the tape differentiates it). The
 * recurrence is a custom-gradient op (recurrence.ts): per step one tfjs matmul (h Wh), the
 * gates in plain loops (recurrent-steps.ts); its gradient is backpropagation through time written
 * out, one matmul a step back (dhz Wh^T) and dWh as one matmul over all steps.
 */
export class RecurrentCell {
  /** The state's entries, in the order `step` takes and gives them: ['h', 'c'] (LSTM) or ['h'] (GRU). */
  readonly stateNames: string[];
  readonly gates: number;
  readonly input: Dense;
  readonly hidden: Dense;

  constructor(params: FlatParams, name: string, inputs: number, readonly size: number, readonly type: RecurrentType, rng: Rng) {
    this.gates = gatesOf(type);
    const bias = new Float32Array(this.gates * size);
    if (type === 'lstm') bias.fill(1, size, 2 * size);
    this.input = new Dense(params, `${name}/x`, inputs, this.gates * size, 1, rng, bias);
    this.hidden = new Dense(params, `${name}/h`, size, this.gates * size, 1, rng);
    this.stateNames = recurrentStateNames(type);
  }

  /** x Wx + bx for every row at once ([rows, inputs] -> [rows, gates * size]): the part of each step that does not wait for the previous one. */
  project(p: Tensors, x: tf.Tensor): tf.Tensor {
    return this.input.apply(p, x);
  }

  /** One step from the projected input `xz` [B, gates * size] and the state [B, size] each; returns the next state (h first). Not differentiable in the state it returns. */
  step(p: Tensors, xz: tf.Tensor, state: tf.Tensor[]): tf.Tensor[] {
    return this.recur(p, xz, state, 1, null).state;
  }

  /**
   * The cell over `length` steps of `batch` sequences, time-major: `x` [length * batch, inputs]
   * (row t * batch + s), `state` the state at each sequence's start ([batch, size] each);
   * `resets` [length * batch], 1 where an episode starts at that row: the state is zeroed before
   * the step (null: none). Returns every step's output h, time-major [length * batch, size]
   * (differentiable in the parameters, `x` and the start state), and the final state (not
   * differentiable: for acting and bootstrapping).
   */
  unroll(p: Tensors, x: tf.Tensor, state: tf.Tensor[], length: number, resets: Uint8Array | null = null): { outputs: tf.Tensor; state: tf.Tensor[] } {
    if (!Number.isInteger(x.shape[0] / length)) throw new RangeError(`recurrent: ${x.shape[0]} rows are not ${length} steps of whole sequences`);
    return this.recur(p, this.project(p, x), state, length, resets);
  }

  private recur(p: Tensors, xz: tf.Tensor, state: tf.Tensor[], length: number, resets: Uint8Array | null): { outputs: tf.Tensor; state: tf.Tensor[] } {
    const rows = xz.shape[0] / length;
    let final: Float32Array[] = [];
    const op = tf.customGrad(((...args: tf.Tensor[]) => {
      const save = args.pop() as unknown as tf.GradSaveFunc;
      const [xzT, wh, bh, ...start] = args;
      save([wh]);
      const run = recurrenceForward(this.type, this.size, length, resets, xzT, wh, bh, start);
      final = run.final;
      return {
        value: tf.tensor2d(run.hOut, [length * rows, this.size]),
        gradFunc: (dy: tf.Tensor, [whSaved]: tf.Tensor[]) => recurrenceBackward(this.type, this.size, run, dy, whSaved),
      };
    }) as Parameters<typeof tf.customGrad>[0]) as (...inputs: tf.Tensor[]) => tf.Tensor;
    const outputs = op(xz, p[this.hidden.w], p[this.hidden.b], ...state);
    return { outputs, state: final.map((s) => tf.tensor2d(s, [rows, this.size])) };
  }
}

/**
 * One step of a cell for acting, on numbers read back: from `xz` = x Wx + bx and `hz` = h Wh
 * ([rows, gates * size] each), the bias `bh` and the state (h, and c for an LSTM: [rows * size]
 * each), the next state, new arrays.
 */
export function cellStep(type: RecurrentType, size: number, rows: number, xz: Float32Array, hz: Float32Array, bh: Float32Array, state: Float32Array[]): Float32Array[] {
  const n = rows * size;
  const lstm = type === 'lstm';
  const a: StepForward = {
    rows,
    size,
    xz,
    hz,
    bh,
    h: state[0],
    c: lstm ? state[1] : null,
    hNext: new Float32Array(n),
    cNext: lstm ? new Float32Array(n) : null,
    kept: new Float32Array(4 * n),
    tanhC: lstm ? new Float32Array(n) : null,
  };
  if (lstm) lstmForward(a);
  else gruForward(a);
  return lstm ? [a.hNext, a.cNext!] : [a.hNext];
}
