import { strict as assert } from 'node:assert';
import { minibatchCuts } from '../algorithms/ppo/ppo';

describe('PPO minibatches', () => {
  it('are the usual equal slices when the batch is a multiple of minibatchSize', () => {
    assert.deepEqual(minibatchCuts(512, 256), [0, 256, 512]);
    assert.deepEqual(minibatchCuts(64, 64), [0, 64]);
  });

  it('use every row when workers fill the batch past a multiple: round(size / minibatchSize) of sizes differing by at most one', () => {
    assert.deepEqual(minibatchCuts(600, 256), [0, 300, 600]);
    assert.deepEqual(minibatchCuts(700, 256), [0, 233, 467, 700]);
    assert.deepEqual(minibatchCuts(100, 256), [0, 100]);
    for (const [size, mb] of [[1000, 64], [257, 256], [4096, 1000]]) {
      const cuts = minibatchCuts(size, mb);
      const sizes = cuts.slice(1).map((c, k) => c - cuts[k]);
      assert.equal(cuts.at(-1), size, 'every row');
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${sizes}`);
    }
  });
});
