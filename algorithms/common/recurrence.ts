import * as tf from '@tensorflow/tfjs';
import { gatesOf, gruBackward, gruForward, lstmBackward, lstmForward, type RecurrentType, type StepBackward, type StepForward } from './recurrent-steps';

/**
 * The recurrence of a `RecurrentCell` over a batch of sequences, as the two halves of its
 * custom-gradient op: the forward run (one tfjs matmul a step, the gates in plain loops) keeps
 * what backpropagation through time needs, and the backward run writes that gradient out.
 */

/** What a forward run keeps for its gradient: every step's state in and out, and the numbers each step kept. */
export interface Run {
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
export function recurrenceForward(type: RecurrentType, size: number, length: number, resets: Uint8Array | null, xz: tf.Tensor, wh: tf.Tensor, bh: tf.Tensor, start: tf.Tensor[]): Run {
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
export function recurrenceBackward(type: RecurrentType, size: number, run: Run, dy: tf.Tensor, wh: tf.Tensor): tf.Tensor[] {
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
