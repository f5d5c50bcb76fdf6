import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { FusedAdam } from '../algorithms/common/fused-adam';
import { applyGradients } from '../algorithms/common/optimizer';
import { Rng } from '../envs';
import { selectBackend } from '../src/backend';

describe('FusedAdam on the wasm backend', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  /** Three steps of `optimizer` on a variable of `n` seeded values with seeded gradients; its values, and the optimizer's weights. */
  async function steps(optimizer: tf.AdamOptimizer, n: number, share = false): Promise<{ values: Float32Array; state: Float32Array[]; kernels: number[] }> {
    const rng = new Rng(7);
    const kernels: number[] = [];
    const initial = tf.tensor1d(Float32Array.from({ length: n }, () => rng.normal()));
    const v = tf.variable(initial);
    const alias = share ? initial : null; // a second tensor on the variable's memory
    if (!share) initial.dispose();
    for (let s = 0; s < 3; s++) {
      const g = tf.tensor1d(Float32Array.from({ length: n }, () => rng.normal() * (s + 1)));
      kernels.push((await tf.profile(() => applyGradients(optimizer, { [v.name]: g }))).kernels.length);
      g.dispose();
    }
    const weights = await optimizer.getWeights();
    const out = { kernels, values: v.dataSync() as Float32Array, state: weights.map((w) => w.tensor.dataSync() as Float32Array) };
    weights[0].tensor.dispose(); // the iteration count is a fresh scalar; the moments are the optimizer's
    alias?.dispose();
    v.dispose();
    optimizer.dispose();
    return out;
  }

  it("takes tfjs Adam's steps, to float32 rounding, and keeps its state in the same layout (iterations, first, second moments)", async () => {
    const theirs = await steps(tf.train.adam(0.01, 0.9, 0.999, 1e-5), 1000);
    const tensors = tf.memory().numTensors;
    const ours = await steps(new FusedAdam(0.01, 0.9, 0.999, 1e-5), 1000);
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(ours.state.length, 3);
    // One pass in JS: the kernels are the beta powers' two multiplications (and the moments' zeros at first), against tfjs' 18.
    assert.deepEqual(ours.kernels, [4, 2, 2]);
    assert.deepEqual(theirs.kernels, [20, 18, 18]);
    assert.deepEqual(Array.from(ours.state[0]), [3]);
    [ours.values, ...ours.state.slice(1)].forEach((got, k) => {
      const want = [theirs.values, ...theirs.state.slice(1)][k];
      got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) <= 2e-6 * (1 + Math.abs(want[i])), `tensor ${k} [${i}]: ${x} != ${want[i]}`));
    });
    // Every parameter moved, by at most 3 lr (an Adam step is at most about lr).
    const rng = new Rng(7);
    const start = Float32Array.from({ length: 1000 }, () => rng.normal());
    assert.ok(ours.values.every((x, i) => x !== start[i] && Math.abs(x - start[i]) < 0.031));
  });

  it("leaves a variable whose memory another tensor shares to tfjs' own step (whose assignment gives it memory of its own), with the same result", async () => {
    const theirs = await steps(tf.train.adam(0.01, 0.9, 0.999), 50);
    const ours = await steps(new FusedAdam(0.01, 0.9, 0.999), 50, true);
    assert.deepEqual(ours.kernels, [theirs.kernels[0], 2, 2]);
    ours.values.forEach((x, i) => assert.ok(Math.abs(x - theirs.values[i]) <= 2e-6 * (1 + Math.abs(theirs.values[i])), `[${i}]: ${x} != ${theirs.values[i]}`));
  });
});
