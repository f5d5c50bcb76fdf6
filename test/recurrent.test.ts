import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { FlatParams } from '../algorithms/common/flat-params';
import { RecurrentCell } from '../algorithms/common/recurrent';
import { cutSequences, sequenceRows } from '../algorithms/common/sequences';
import { Rng } from '../core/rng';
import { selectBackend } from '../src/backend';

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) < tol, `index ${i}: ${actual[i]} != ${e}`));
}

/** A cell of one input and one unit, with its weights given by hand. */
function cellOf(type: 'lstm' | 'gru', wx: number[], bx: number[], wh: number[], bh: number[]): { cell: RecurrentCell; p: Record<string, tf.Tensor> } {
  const cell = new RecurrentCell(new FlatParams(), 'rnn', 1, 1, type, new Rng(0));
  const g = wx.length;
  const p = { 'rnn/x/w': tf.tensor2d(wx, [1, g]), 'rnn/x/b': tf.tensor1d(bx), 'rnn/h/w': tf.tensor2d(wh, [1, g]), 'rnn/h/b': tf.tensor1d(bh) };
  return { cell, p };
}

describe('Recurrent cells', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  // x = 1, h = 0.5, c = 0.5; Wx = [0.5, -1, 1, 2] (i, f, g, o), bx = [0, 1, 0, 0], Wh = [1, 1, 1, 1], bh = 0:
  //   z = [0.5 + 0.5, -1 + 1 + 0.5, 1 + 0.5, 2 + 0.5] = [1, 0.5, 1.5, 2.5]
  //   i = sigmoid(1) = 0.7310586, f = sigmoid(0.5) = 0.6224593, g = tanh(1.5) = 0.9051483, o = sigmoid(2.5) = 0.9241418
  //   c' = 0.6224593 * 0.5 + 0.7310586 * 0.9051483 = 0.9729461,  h' = 0.9241418 * tanh(0.9729461) = 0.6931027
  it('gives the hand-worked output and cell state of one LSTM step', () => {
    tf.tidy(() => {
      const { cell, p } = cellOf('lstm', [0.5, -1, 1, 2], [0, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]);
      const [h, c] = cell.step(p, cell.project(p, tf.tensor2d([[1]])), [tf.tensor2d([[0.5]]), tf.tensor2d([[0.5]])]);
      close(h.dataSync(), [0.6931027]);
      close(c.dataSync(), [0.9729461]);
    });
  });

  // x = 1, h = 0.5; Wx = [1, -1, 0.5] (r, z, n), bx = 0, Wh = [1, 2, 2], bh = [0, 0, 1]:
  //   r = sigmoid(1 + 0.5) = 0.8175745, z = sigmoid(-1 + 1) = 0.5, n = tanh(0.5 + 0.8175745 * 2) = 0.9724301
  //   h' = 0.5 * 0.9724301 + 0.5 * 0.5 = 0.7362151
  it('gives the hand-worked output of one GRU step', () => {
    tf.tidy(() => {
      const { cell, p } = cellOf('gru', [1, -1, 0.5], [0, 0, 0], [1, 2, 2], [0, 0, 1]);
      const [h] = cell.step(p, cell.project(p, tf.tensor2d([[1]])), [tf.tensor2d([[0.5]])]);
      close(h.dataSync(), [0.7362151]);
    });
  });

  it('unrolls time-major sequences exactly as steps taken one at a time', () => {
    tf.tidy(() => {
      const params = new FlatParams();
      const cell = new RecurrentCell(params, 'rnn', 3, 4, 'lstm', new Rng(1));
      const p = params.unpack();
      const rng = new Rng(2);
      // 3 steps of 2 sequences: row t * 2 + s.
      const x = tf.tensor2d(Float32Array.from({ length: 18 }, () => rng.normal()), [6, 3]);
      const h0 = tf.tensor2d(Float32Array.from({ length: 8 }, () => rng.normal()), [2, 4]);
      const c0 = tf.zeros([2, 4]);
      const { outputs, state } = cell.unroll(p, x, [h0, c0], 3);
      let s = [h0, c0];
      const byStep: number[] = [];
      for (let t = 0; t < 3; t++) {
        s = cell.step(p, cell.project(p, tf.slice(x, [t * 2, 0], [2, 3])), s);
        byStep.push(...s[0].dataSync());
      }
      close(outputs.dataSync(), byStep);
      close(state[1].dataSync(), Array.from(s[1].dataSync()));
      params.dispose();
    });
  });

  it("is differentiated by the tape through every step: the gradient matches central differences", () => {
    const params = new FlatParams();
    const cell = new RecurrentCell(params, 'rnn', 2, 3, 'lstm', new Rng(3));
    const rng = new Rng(4);
    const x = tf.tensor2d(Float32Array.from({ length: 8 }, () => rng.normal()), [4, 2]); // 4 steps of 1 sequence
    const theta = params.variable;
    const loss = (flat: tf.Tensor): tf.Scalar => {
      const parts = tf.split(flat, params.shapes().map((s) => s.shape.reduce((a, b) => a * b, 1)));
      const p = Object.fromEntries(params.shapes().map((s, i) => [s.name, tf.reshape(parts[i], s.shape)]));
      const { outputs } = cell.unroll(p, x, [tf.zeros([1, 3]), tf.zeros([1, 3])], 4);
      return tf.sum(tf.mul(outputs, tf.range(1, 13).reshape([4, 3])));
    };
    const grad = tf.tidy(() => tf.grad(loss)(theta).dataSync());
    const base = theta.dataSync().slice();
    const eps = 1e-2;
    // Input weights, an input bias and a recurrent weight (reached only through earlier steps).
    for (const i of [0, 13, 30, 40]) {
      const at = (d: number): number => tf.tidy(() => {
        const v = base.slice();
        v[i] += d;
        return loss(tf.tensor1d(v)).dataSync()[0];
      });
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      assert.ok(Math.abs(grad[i] - numeric) < 2e-3 * Math.max(1, Math.abs(numeric)), `parameter ${i}: tape ${grad[i]} vs numeric ${numeric}`);
    }
    x.dispose();
    params.dispose();
  });

  for (const type of ['lstm', 'gru'] as const) {
    it(`gives, with resets, the outputs and a gradient equal to the tape's through the cell written as tfjs ops (${type})`, () => {
      const size = 3;
      const rows = 2;
      const T = 4;
      const params = new FlatParams();
      const cell = new RecurrentCell(params, 'rnn', 2, size, type, new Rng(6));
      const rng = new Rng(7);
      const x = tf.tensor2d(Float32Array.from({ length: T * rows * 2 }, () => rng.normal()), [T * rows, 2]);
      const start = cell.stateNames.map(() => tf.tensor2d(Float32Array.from({ length: rows * size }, () => 0.5 * rng.normal()), [rows, size]));
      const resets = Uint8Array.of(0, 0, 0, 0, 1, 0, 0, 1); // sequence 0 restarts at step 2, sequence 1 at step 3
      const coeff = tf.tensor2d(Float32Array.from({ length: T * rows * size }, () => rng.normal()), [T * rows, size]);
      const unpack = (flat: tf.Tensor) => {
        const parts = tf.split(flat, params.shapes().map((sh) => sh.shape.reduce((a, b) => a * b, 1)));
        return Object.fromEntries(params.shapes().map((sh, i) => [sh.name, tf.reshape(parts[i], sh.shape)]));
      };
      // The reference: the same cell in plain tfjs ops, reset by multiplying the state by (1 - reset).
      const reference = (p: Record<string, tf.Tensor>, xs: tf.Tensor, s0: tf.Tensor[]): tf.Tensor => {
        const xz = tf.add(tf.matMul(xs as tf.Tensor2D, p['rnn/x/w'] as tf.Tensor2D), p['rnn/x/b']);
        let [h, c] = s0;
        const out: tf.Tensor[] = [];
        for (let t = 0; t < T; t++) {
          const keep = tf.tensor2d(Float32Array.from({ length: rows }, (_, b) => 1 - resets[t * rows + b]), [rows, 1]);
          h = tf.mul(h, keep);
          const a = tf.slice(xz, [t * rows, 0], [rows, -1]);
          const bz = tf.add(tf.matMul(h as tf.Tensor2D, p['rnn/h/w'] as tf.Tensor2D), p['rnn/h/b']);
          if (type === 'lstm') {
            c = tf.mul(c, keep);
            const [zi, zf, zg, zo] = tf.split(tf.add(a, bz), 4, 1);
            c = tf.add(tf.mul(tf.sigmoid(zf), c), tf.mul(tf.sigmoid(zi), tf.tanh(zg)));
            h = tf.mul(tf.sigmoid(zo), tf.tanh(c));
          } else {
            const [ar, az, an] = tf.split(a, 3, 1);
            const [br, bzz, bn] = tf.split(bz, 3, 1);
            const r = tf.sigmoid(tf.add(ar, br));
            const z = tf.sigmoid(tf.add(az, bzz));
            const n = tf.tanh(tf.add(an, tf.mul(r, bn)));
            h = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
          }
          out.push(h);
        }
        return tf.concat(out, 0);
      };
      const ours = (p: Record<string, tf.Tensor>, xs: tf.Tensor, s0: tf.Tensor[]) => cell.unroll(p, xs, s0, T, resets).outputs;
      const both = [ours, reference].map((f) =>
        tf.tidy(() => {
          const loss = (flat: tf.Tensor, xs: tf.Tensor, ...s0: tf.Tensor[]) => tf.sum(tf.mul(f(unpack(flat), xs, s0), coeff)) as tf.Scalar;
          const grads = tf.grads(loss as (...a: tf.Tensor[]) => tf.Scalar)([params.variable, x, ...start]);
          return { outputs: Array.from(f(unpack(params.variable), x, start).dataSync()), grads: grads.map((g) => Array.from(g.dataSync())) };
        }),
      );
      close(both[0].outputs, both[1].outputs);
      assert.equal(both[0].grads.length, 2 + cell.stateNames.length);
      both[1].grads.forEach((g, i) => close(both[0].grads[i], g, 1e-4));
      assert.ok(both[0].grads[2].some((v) => v !== 0), 'the start state gets a gradient, through the steps before each reset');
      tf.dispose([x, coeff, ...start]);
      params.dispose();
    });
  }
});

describe('Recurrent sequences', () => {
  // 2 envs, 5 steps (row t * 2 + e). Env 0 terminates at t = 1 and is truncated at t = 2; env 1 runs on.
  // sequenceLength 2: each env -> [t0 t1] [t2 t3] [t4]; episodes start at env 0's t2 (row 4) and t3 (row 6).
  const part = {
    offset: 0,
    numEnvs: 2,
    length: 5,
    terminated: Uint8Array.of(0, 0, 1, 0, 0, 0, 0, 0, 0, 0),
    truncated: Uint8Array.of(0, 0, 0, 0, 1, 0, 0, 0, 0, 0),
  };

  it("cuts each env every sequenceLength steps and at the batch's end, and marks the rows that start an episode", () => {
    const seqs = cutSequences([part], 2);
    assert.deepEqual(Array.from(seqs.starts), [0, 4, 8, 1, 5, 9]);
    assert.deepEqual(Array.from(seqs.lengths), [2, 2, 1, 2, 2, 1]);
    assert.deepEqual(Array.from(seqs.episodeStarts), [0, 0, 0, 0, 1, 0, 1, 0, 0, 0]);
  });

  it('never lets a sequence cross an episode boundary without a reset, with short episodes of random lengths and several batches', () => {
    const rng = new Rng(5);
    const parts = [0, 1].map((b) => {
      const n = 3;
      const T = 40;
      const terminated = Uint8Array.from({ length: n * T }, () => (rng.random() < 0.2 ? 1 : 0));
      const truncated = Uint8Array.from({ length: n * T }, (_, i) => (!terminated[i] && rng.random() < 0.1 ? 1 : 0));
      return { offset: b * n * T, numEnvs: n, length: T, terminated, truncated };
    });
    const ends = new Set<number>();
    for (const p of parts) p.terminated.forEach((d, i) => (d || p.truncated[i]) && ends.add(p.offset + i));
    const seqs = cutSequences(parts, 8);
    const all = Array.from(seqs.starts, (_, k) => k);
    const { rows, resets } = sequenceRows(seqs, all, 8);
    const seen = new Set<number>();
    let crossed = 0;
    for (let k = 0; k < all.length; k++) {
      assert.ok(seqs.lengths[k] >= 1 && seqs.lengths[k] <= 8);
      for (let t = 0; t < 8; t++) {
        const row = rows[t * all.length + k];
        if (t >= seqs.lengths[k]) {
          assert.equal(row, -1, 'padding past the end');
          continue;
        }
        assert.ok(!seen.has(row), `row ${row} in two sequences`);
        seen.add(row);
        if (t === 0) continue;
        // The row before in the same sequence (and env) ended an episode exactly where this row's state is reset.
        const crossing = ends.has(rows[(t - 1) * all.length + k]);
        assert.equal(resets[t * all.length + k], crossing ? 1 : 0, `sequence ${k} step ${t}`);
        if (crossing) crossed += 1;
      }
    }
    assert.equal(seen.size, 2 * 3 * 40, 'every row in one sequence');
    assert.ok(crossed > 20, `the episodes are short enough to cross sequences (${crossed} resets)`);
  });

  it('pads a minibatch of sequences time-major with rows of weight 0, and resets where an episode starts past its first step', () => {
    const seqs = cutSequences([part], 2);
    const { rows, weights, resets } = sequenceRows(seqs, [1, 3, 2], 2); // env 0 [t2 t3], env 1 [t0 t1], env 0 [t4]
    assert.deepEqual(Array.from(rows), [4, 1, 8, 6, 3, -1]);
    assert.deepEqual(Array.from(weights), [1, 1, 1, 1, 1, 0]);
    // Row 4 starts an episode too, but as its sequence's first step it starts from the stored state (zeros there).
    assert.deepEqual(Array.from(resets), [0, 0, 0, 1, 0, 0]);
  });
});
