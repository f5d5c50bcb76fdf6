import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../core/rng';
import type { FlatParams } from './flat-params';
import { Dense } from './mlp';
import { gruBackward, gruForward, lstmBackward, lstmForward, type StepBackward, type StepForward } from './recurrent-steps';

/** The recurrent cells a model can hold (`model.recurrent.type`). */
export type RecurrentType = 'lstm' | 'gru';

type Tensors = Record<string, tf.Tensor>;

/** A cell's state entries, in the order its `step` takes and gives them. */
export function recurrentStateNames(type: RecurrentType): string[] {
  return type === 'lstm' ? ['h', 'c'] : ['h'];
}

/** The batch column in which a recurrent policy records the state entry `name` it acted from. */
export const stateColumn = (name: string): string => `state/${name}`;

/** Columns of x Wx (and h Wh) per unit: 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n). */
export const gatesOf = (type: RecurrentType): number => (type === 'lstm' ? 4 : 3);

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
 * recurrence is a custom-gradient op (`recurrence`): per step one tfjs matmul (h Wh + bh), the
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

/** What a forward run keeps for its gradient: every step's state in and out, and the numbers each step kept. */
interface Run {
  rows: number;
  length: number;
  resets: Uint8Array | null;
  /** The state each step started from (after resets), [length * rows * size]; c null for a GRU. */
  hIn: Float32Array;
  cIn: Float32Array | null;
  /** Each step's output (and the LSTM's cell state), [length * rows * size]. */
  hOut: Float32Array;
  cOut: Float32Array | null;
  /** Each step's `kept` [rows * 4 * size] and (LSTM) tanh(c') [rows * size]. */
  kept: Float32Array;
  tanhC: Float32Array | null;
  /** The state after the last step, per state entry. */
  final: Float32Array[];
}

/**
 * The recurrence forward: each step h Wh on tfjs (one kernel), read back, and the gates (with
 * bh) in plain loops. `xz` [length * rows, gates * size], the start state [rows, size] each;
 * rows where `resets` is 1 start their step from zeros.
 */
function recurrenceForward(type: RecurrentType, size: number, length: number, resets: Uint8Array | null, xz: tf.Tensor, wh: tf.Tensor, bh: tf.Tensor, start: tf.Tensor[]): Run {
  const rows = xz.shape[0] / length;
  const n = rows * size;
  const g = gatesOf(type) * n;
  const xzData = xz.dataSync() as Float32Array;
  const bhData = bh.dataSync() as Float32Array;
  const lstm = type === 'lstm';
  const run: Run = {
    rows,
    length,
    resets,
    hIn: new Float32Array(length * n),
    cIn: lstm ? new Float32Array(length * n) : null,
    hOut: new Float32Array(length * n),
    cOut: lstm ? new Float32Array(length * n) : null,
    kept: new Float32Array(length * 4 * n),
    tanhC: lstm ? new Float32Array(length * n) : null,
    final: [],
  };
  const at = (a: Float32Array, t: number) => a.subarray(t * n, (t + 1) * n);
  for (let t = 0; t < length; t++) {
    const h = at(run.hIn, t);
    const c = run.cIn ? at(run.cIn, t) : null;
    h.set(t === 0 ? (start[0].dataSync() as Float32Array) : at(run.hOut, t - 1));
    if (c) c.set(t === 0 ? (start[1].dataSync() as Float32Array) : at(run.cOut!, t - 1));
    if (resets && t > 0) {
      for (let b = 0; b < rows; b++) {
        if (!resets[t * rows + b]) continue;
        h.fill(0, b * size, (b + 1) * size);
        c?.fill(0, b * size, (b + 1) * size);
      }
    }
    const hT = t === 0 ? start[0] : tf.tensor2d(h, [rows, size]);
    const hzT = tf.matMul(hT as tf.Tensor2D, wh as tf.Tensor2D); // the bias is added with the gates: a fused bias is slower on wasm
    const hz = hzT.dataSync() as Float32Array;
    hzT.dispose();
    if (t > 0) hT.dispose();
    const a: StepForward = {
      rows,
      size,
      xz: xzData.subarray(t * g, (t + 1) * g),
      hz,
      bh: bhData,
      h,
      c,
      hNext: at(run.hOut, t),
      cNext: run.cOut ? at(run.cOut, t) : null,
      kept: run.kept.subarray(t * 4 * n, (t + 1) * 4 * n),
      tanhC: run.tanhC ? at(run.tanhC, t) : null,
    };
    if (lstm) lstmForward(a);
    else gruForward(a);
  }
  run.final = [at(run.hOut, length - 1).slice(), ...(run.cOut ? [at(run.cOut, length - 1).slice()] : [])];
  return run;
}

/**
 * Backpropagation through time for `recurrenceForward`'s run, given dLoss/d(outputs) `dy`
 * [length * rows, size]: each step back, the gates' derivative in plain loops, then dh = dhz
 * Wh^T on tfjs (stopped at a reset); dWh = H_in^T dHZ over all steps in one matmul, dbh the
 * column sums of dHZ. Returns the gradients of the op's inputs: xz, Wh, bh and the start state.
 */
function recurrenceBackward(type: RecurrentType, size: number, run: Run, dy: tf.Tensor, wh: tf.Tensor): tf.Tensor[] {
  const { rows, length, resets } = run;
  const n = rows * size;
  const gw = gatesOf(type) * size;
  const g = rows * gw;
  const lstm = type === 'lstm';
  const dOut = dy.dataSync() as Float32Array;
  const dxz = new Float32Array(length * g);
  const dhz = lstm ? dxz : new Float32Array(length * g);
  const dh = new Float32Array(n);
  const dc = lstm ? new Float32Array(n) : null;
  let dhIn: Float32Array = new Float32Array(n); // dLoss/d(the state step t + 1 started from)
  const dhDirect = new Float32Array(n);
  const at = (a: Float32Array, t: number) => a.subarray(t * n, (t + 1) * n);
  const whT = tf.transpose(wh) as tf.Tensor2D; // a plain matmul by the transpose: wasm's transposed matmul is slow (mlp.ts)
  for (let t = length - 1; t >= 0; t--) {
    for (let k = 0; k < n; k++) dh[k] = dOut[t * n + k] + dhIn[k];
    const a: StepBackward = {
      rows,
      size,
      kept: run.kept.subarray(t * 4 * n, (t + 1) * 4 * n),
      tanhC: run.tanhC ? at(run.tanhC, t) : null,
      h: at(run.hIn, t),
      c: run.cIn ? at(run.cIn, t) : null,
      dh,
      dc,
      dxz: dxz.subarray(t * g, (t + 1) * g),
      dhz: dhz.subarray(t * g, (t + 1) * g),
      dhDirect,
    };
    if (lstm) lstmBackward(a);
    else gruBackward(a);
    const dhzT = tf.tensor2d(a.dhz, [rows, gw]);
    const back = tf.matMul(dhzT, whT);
    dhIn = back.dataSync() as Float32Array;
    tf.dispose([dhzT, back]);
    for (let k = 0; k < n; k++) dhIn[k] += dhDirect[k];
    if (resets && t > 0) {
      // A reset cut the state: nothing flows back into the step before.
      for (let b = 0; b < rows; b++) {
        if (!resets[t * rows + b]) continue;
        dhIn.fill(0, b * size, (b + 1) * size);
        dc?.fill(0, b * size, (b + 1) * size);
      }
    }
  }
  whT.dispose();
  const dhzAll = tf.tensor2d(dhz, [length * rows, gw]);
  const hIn = tf.tensor2d(run.hIn, [length * rows, size]);
  const dWh = tf.matMul(tf.transpose(hIn) as tf.Tensor2D, dhzAll);
  const dbh = new Float32Array(gw);
  for (let r = 0; r < length * rows; r++) for (let j = 0; j < gw; j++) dbh[j] += dhz[r * gw + j];
  return [
    tf.tensor2d(dxz, [length * rows, gw]),
    dWh,
    tf.tensor1d(dbh),
    tf.tensor2d(dhIn, [rows, size]),
    ...(dc ? [tf.tensor2d(dc, [rows, size])] : []),
  ];
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
