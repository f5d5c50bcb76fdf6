import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { ppo } from '../algorithms/ppo/ppo';
import { DEFAULT_POLICY } from '../core/algorithm';
import { makeEnv } from '../envs';
import { selectBackend } from '../src/backend';
import { RolloutWorker } from '../src/runtime/rollout-worker';

/** The wasm backend's heap, in bytes: it grows and never shrinks. */
function wasmHeap(): number {
  return (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
}

describe("the learner's memory on the wasm backend", function () {
  this.timeout(120_000);
  let previous: string | undefined;

  before(() => {
    previous = tf.getBackend(); // undefined before any backend was chosen
  });
  after(async () => {
    if (previous) await tf.setBackend(previous); // the other tests' backend back
  });

  it('keeps the wasm heap level over 60 PPO updates on the written-out path (it grew about 0.5 MB an update when the optimizer stepped inside the step scope)', async () => {
    await selectBackend('wasm');
    assert.equal(tf.getBackend(), 'wasm');
    const env = makeEnv('CartPole-v1');
    const algo = ppo.create({
      config: ppo.configSchema.parse({ numEpochs: 10, minibatchSize: 256, gradientPath: 'writtenOut' }),
      model: { hiddenSizes: [64, 64], activation: 'tanh', sharedLayers: false },
      observationSpace: env.observationSpace.toSpec(),
      actionSpace: env.actionSpace.toSpec(),
      seed: 0,
      totalEnvs: 8,
      rolloutLength: 128,
    });
    const spec = algo.policySpecs()[DEFAULT_POLICY];
    // As the learner lays out its heap: the parameters built first (the initial broadcast), then a sampler's policy.
    const worker = new RolloutWorker({ workerId: 0, envId: 'CartPole-v1', envConfig: {}, numEnvs: 8, rolloutLength: 128, seed: 1, policy: ppo.createPolicy(spec, { slot: 0, numSlots: 1 }), spec });
    try {
      worker.setParams(algo.getParams()[DEFAULT_POLICY], 0);
      const batch = worker.sample();
      for (let i = 0; i < 10; i++) await algo.update([batch], { envSteps: 1024 * i, policyVersion: i }); // the heap settles
      const settled = wasmHeap();
      const tensors = tf.memory().numTensors;
      for (let i = 10; i < 70; i++) await algo.update([batch], { envSteps: 1024 * i, policyVersion: i });
      const grown = (wasmHeap() - settled) / 1e6;
      assert.ok(grown < 2, `the wasm heap grew by ${grown.toFixed(1)} MB over 60 updates (2,400 gradient steps)`);
      assert.equal(tf.memory().numTensors, tensors);
    } finally {
      worker.close();
      algo.dispose();
    }
  });
});
