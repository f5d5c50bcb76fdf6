import { strict as assert } from 'node:assert';
import { FlatParams } from '../algorithms/common/flat-model';
import { softUpdate } from '../algorithms/common/flat-params';
import { orthogonal } from '../algorithms/common/mlp';
import { ActorCritic } from '../algorithms/ppo/actor-critic';
import { makeEnv, Rng } from '../envs';
import { selectBackend } from '../src/backend';

describe('FlatParams', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  it("copies a target with tau 1 into memory of the target's own, not the online variable's (which would stop the fused Adam step in place)", () => {
    const online = new FlatParams();
    online.add('w', [3], Float32Array.of(1, -2, 0.5));
    const target = new FlatParams();
    target.add('w', [3], Float32Array.of(0, 0, 0));
    try {
      softUpdate(target, online, 1);
      assert.deepEqual(Array.from(target.variable.dataSync()), [1, -2, 0.5]);
      assert.notEqual(target.variable.dataId, online.variable.dataId);
    } finally {
      online.dispose();
      target.dispose();
    }
  });

  it('computes no initial values for parameters whose weights are set before first use', () => {
    const params = new FlatParams();
    let calls = 0;
    params.add('a', [2, 2], () => {
      calls += 1;
      return new Float32Array(4);
    });
    params.add('b', [3], Float32Array.of(1, 2, 3));
    params.setWeights([
      { name: 'a', shape: [2, 2], data: Float32Array.of(5, 6, 7, 8) },
      { name: 'b', shape: [3], data: Float32Array.of(9, 10, 11) },
    ]);
    assert.deepEqual(params.getWeights().map((w) => Array.from(w.data)), [[5, 6, 7, 8], [9, 10, 11]]);
    assert.equal(calls, 0);
    params.dispose();
  });

  it('draws the initial weights layer by layer in the order they were added, as an initialisation at construction did', () => {
    const env = makeEnv('CartPole-v1');
    const spec = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
    const net = new ActorCritic(spec, { hiddenSizes: [6, 5], activation: 'tanh', sharedLayers: false }, 21);
    const rng = new Rng(21);
    // pi/0, pi/1, vf/0, vf/1 (gain sqrt 2), then the heads pi/out (0.01) and vf/out (1).
    const layers: [string, number, number, number][] = [['pi/0/w', 4, 6, Math.SQRT2], ['pi/1/w', 6, 5, Math.SQRT2], ['vf/0/w', 4, 6, Math.SQRT2], ['vf/1/w', 6, 5, Math.SQRT2], ['pi/out/w', 5, 2, 0.01], ['vf/out/w', 5, 1, 1]];
    const expected = new Map(layers.map(([name, rows, cols, gain]) => [name, orthogonal(rows, cols, gain, rng)]));
    const weights = net.getWeights().filter((w) => w.name.endsWith('/w'));
    assert.deepEqual(weights.map((w) => w.name), [...expected.keys()]);
    for (const w of weights) assert.deepEqual(w.data, expected.get(w.name), w.name);
    net.dispose();
  });
});
