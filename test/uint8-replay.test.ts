import { strict as assert } from 'node:assert';
import { algorithms } from '../algorithms';
import { nStepTransitions } from '../algorithms/common/nstep';
import { ReplayBuffer } from '../algorithms/common/replay';
import type { Dqn } from '../algorithms/dqn/dqn';
import type { TrajectoryBatch } from '../core/algorithm';
import type { SpaceSpec } from '../core/spaces';
import { selectBackend } from '../src/backend';

/** A batch of 2 steps of 2 envs of 2x1x1 uint8 pictures (4 values each way): obs rows t*2+e hold [10t + e, 100 + e]. */
function uint8Batch(): TrajectoryBatch {
  return {
    workerId: 0,
    seq: 0,
    policyId: 'default',
    policyVersion: 0,
    numEnvs: 2,
    length: 2,
    obs: Uint8Array.of(0, 100, 1, 101, 10, 100, 11, 101),
    actions: Float32Array.of(0, 1, 1, 0),
    rewards: Float32Array.of(1, 2, 3, 4),
    terminated: Uint8Array.of(0, 1, 0, 0),
    truncated: Uint8Array.of(0, 0, 0, 0),
    columns: {},
    state: {},
    nextObs: Uint8Array.of(20, 200, 21, 201),
    finalObs: { index: new Int32Array(0), obs: new Uint8Array(0) },
    nextMasks: null,
    episodes: { returns: Float32Array.of(2), lengths: Int32Array.of(1) },
  };
}

describe('uint8 observations in the replay buffer', () => {
  it('a uint8 buffer stores a quarter of the bytes and hands back the same values, as uint8', () => {
    const f = new ReplayBuffer(100, 400);
    const u = new ReplayBuffer(100, 400, null, 'uint8');
    assert.equal(f.obs.byteLength + f.nextObs.byteLength, 4 * (u.obs.byteLength + u.nextObs.byteLength));
    u.add({ obs: new Uint8Array(400).fill(255), nextObs: new Uint8Array(400).fill(7), actions: Int32Array.of(2), rewards: Float32Array.of(1), discounts: Float32Array.of(0.5) });
    const got = u.gather(Int32Array.of(0));
    assert.ok(got.obs instanceof Uint8Array && got.nextObs instanceof Uint8Array);
    assert.equal(got.obs[399], 255);
    assert.equal(got.nextObs[0], 7);
  });

  it('n-step transitions of a uint8 batch keep uint8 observations: 2-step returns, the terminal stop and the bootstrap row worked by hand', () => {
    const t = nStepTransitions(uint8Batch(), 2, 0.5);
    assert.ok(t.obs instanceof Uint8Array && t.nextObs instanceof Uint8Array);
    // env 0, t 0: 1 + 0.5 * 3 = 2.5, bootstraps from nextObs of env 0 at gamma^2; env 1, t 0: 2, terminated (discount 0).
    assert.deepEqual(Array.from(t.rewards), [2.5, 2, 3, 4]);
    assert.deepEqual(Array.from(t.discounts), [0.25, 0, 0.5, 0.5]);
    assert.deepEqual(Array.from(t.nextObs), [20, 200, 1, 101, 20, 200, 21, 201]);
  });

  it("DQN on uint8 observations keeps its replay buffer uint8, and its checkpoint (float32 replay tensors, the layout of earlier ones) restores it exactly", async () => {
    await selectBackend('cpu');
    const observationSpace: SpaceSpec = { type: 'Box', shape: [2, 1, 1], low: [0, 0], high: [255, 255], dtype: 'uint8' };
    const make = () =>
      algorithms.dqn.create({
        config: algorithms.dqn.configSchema.parse({ bufferSize: 16, learningStarts: 100, checkpointReplayBuffer: true }),
        model: { hiddenSizes: [4], activation: 'relu', sharedLayers: false },
        observationSpace,
        actionSpace: { type: 'Discrete', n: 2 },
        seed: 0,
        totalEnvs: 2,
        rolloutLength: 2,
        totalEnvSteps: 1000,
      }) as Dqn;
    const a = make();
    const b = make();
    try {
      await a.update([uint8Batch()], { envSteps: 4, policyVersion: 0 });
      assert.ok(a.buffer.obs instanceof Uint8Array);
      assert.equal(a.buffer.size, 4);
      const state = await a.getState();
      const saved = state.tensors.find((t) => t.name === 'replay/obs')!;
      assert.ok(saved.data instanceof Float32Array);
      assert.deepEqual(Array.from(saved.data.subarray(0, 8)), [0, 100, 1, 101, 10, 100, 11, 101]);
      await b.setState(state);
      assert.ok(b.buffer.obs instanceof Uint8Array);
      assert.deepEqual(Array.from(b.buffer.obs), Array.from(a.buffer.obs));
      assert.deepEqual(Array.from(b.buffer.nextObs), Array.from(a.buffer.nextObs));
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});
