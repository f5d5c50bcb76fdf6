import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../src/backend';
import { wasmSliceRegistered } from '../src/wasm-slice';
import { wasmInternalsVerified } from '../algorithms/common/wasm-internals';

describe('the wasm Slice and SplitV kernels that read the heap in place', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  const x = () => tf.range(0, 24, 1, 'float32').reshape([2, 3, 4]);

  it('are the ones registered on the installed tfjs-backend-wasm (a verified release), and stand aside on another', () => {
    // Without this, an upgrade would leave tfjs' own kernels in place and the tests below would pass on them.
    assert.ok(wasmInternalsVerified(), `tfjs-backend-wasm ${version_wasm} is not in VERIFIED_WASM_RELEASES: check fused-adam and wasm-slice against it`);
    assert.ok(wasmSliceRegistered(), "the heap-reading Slice and SplitV are in place of tfjs' own");
    assert.equal(wasmInternalsVerified('4.23.0'), false);
  });

  it('cut a contiguous block, a strided block and an int32 block as tf.slice does', () => {
    tf.tidy(() => {
      assert.deepEqual(Array.from(tf.slice(tf.reshape(x(), [-1]), [5], [4]).dataSync()), [5, 6, 7, 8]);
      // [1, 1..2, 1..2] of the 2 x 3 x 4 block of 0..23: rows 16 + 4 + 1 and 16 + 8 + 1.
      assert.deepEqual(Array.from(tf.slice(x(), [1, 1, 1], [1, 2, 2]).dataSync()), [17, 18, 21, 22]);
      assert.deepEqual(Array.from(tf.slice(x(), [0, 2, 0], [-1, 1, -1]).dataSync()), [8, 9, 10, 11, 20, 21, 22, 23]);
      assert.deepEqual(Array.from(tf.slice(tf.tensor1d([3, 1, 4, 1, 5], 'int32'), [1], [3]).dataSync()), [1, 4, 1]);
      assert.equal(tf.slice(x(), [0, 0, 0], [0, 3, 4]).size, 0);
    });
  });

  it('split along an axis into the parts tf.split gives, and keep the slice gradient', () => {
    tf.tidy(() => {
      const [a, b] = tf.split(x(), [1, 2], 1);
      assert.deepEqual(Array.from(a.dataSync()), [0, 1, 2, 3, 12, 13, 14, 15]);
      assert.deepEqual(Array.from(b.dataSync()), [4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23]);
      const parts = tf.split(tf.range(0, 10, 1, 'float32'), [3, 7]);
      assert.deepEqual(parts.map((p) => Array.from(p.dataSync())), [[0, 1, 2], [3, 4, 5, 6, 7, 8, 9]]);
      // d/dv of sum(3 * v[1:3]) is 3 on the sliced entries, 0 elsewhere.
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.slice(v, [1], [2]), 3)))(tf.zeros([4]));
      assert.deepEqual(Array.from(g.dataSync()), [0, 3, 3, 0]);
    });
  });
});
