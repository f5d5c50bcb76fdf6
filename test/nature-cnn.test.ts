import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../core/algorithm';
import { dqn, type Dqn } from '../algorithms/dqn/dqn';
import { dqnConfigSchema } from '../algorithms/dqn/config';
import { ppo, ppoConfigSchema, type Ppo } from '../algorithms/ppo/ppo';
import { Box, Discrete, registerEnv, Rng, type Env } from '../envs';
import { selectBackend } from '../src/backend';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import { paramsOf, specOf, weightsOf } from './helpers/policy-fixtures';

/** The Atari "Nature CNN" (Mnih et al., 2015): conv 32 8x8/4, 64 4x4/2, 64 3x3/1, dense 512. */
const natureCnn: ModelConfig = {
  conv: [
    { filters: 32, kernel: 8, stride: 4, padding: 'valid' },
    { filters: 64, kernel: 4, stride: 2, padding: 'valid' },
    { filters: 64, kernel: 3, stride: 1, padding: 'valid' },
  ],
  hiddenSizes: [512],
  activation: 'relu',
  sharedLayers: true,
};

/**
 * A synthetic Atari-sized game: 84 x 84 x 4 uint8 frames of noise with a bright band down the
 * left or the right half; action 0 (left) or 1 (right) on the band's side scores 1. Four steps.
 */
class Bands implements Env {
  readonly observationSpace = new Box(0, 255, [84, 84, 4], 'uint8');
  readonly actionSpace = new Discrete(2);
  private rng = new Rng(0);
  private side = 0;
  private t = 0;

  reset(opts: { seed?: number } = {}) {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.t = 0;
    return { obs: this.frame(), info: {} };
  }

  step(action: number | Float32Array) {
    const reward = action === this.side ? 1 : 0;
    this.t += 1;
    return { obs: this.frame(), reward, terminated: this.t >= 4, truncated: false, info: {} };
  }

  close(): void {}

  private frame(): Uint8Array {
    this.side = this.rng.int(2);
    const obs = new Uint8Array(84 * 84 * 4);
    for (let i = 0; i < obs.length; i++) {
      const x = Math.floor(i / 4) % 84;
      obs[i] = (x < 42) === (this.side === 0) ? 200 + this.rng.int(56) : this.rng.int(40);
    }
    return obs;
  }
}

const ENV = 'test/Bands84-v0';
registerEnv(ENV, () => new Bands());

const spaces = () => {
  const env = new Bands();
  return { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
};

function worker(spec: ReturnType<typeof specOf>, policy: ConstructorParameters<typeof RolloutWorker>[0]['policy']) {
  return new RolloutWorker({ workerId: 0, envId: ENV, envConfig: {}, numEnvs: 2, rolloutLength: 16, seed: 5, policy, spec });
}

function changed(before: ReturnType<typeof weightsOf>, after: ReturnType<typeof weightsOf>): string[] {
  return after.filter((w, i) => w.data.some((v, j) => v !== before[i].data[j])).map((w) => w.name);
}

describe('the Nature CNN on a synthetic 84x84x4 uint8 env (wasm)', function () {
  this.timeout(120_000);

  before(async () => {
    await selectBackend('wasm');
  });

  it('builds the layers of Mnih et al. and trains one PPO iteration: every tensor moves, nothing leaks', async () => {
    const config = ppoConfigSchema.parse({ minibatchSize: 32, numEpochs: 1 });
    const algo = ppo.create({ config, model: natureCnn, ...spaces(), seed: 1, totalEnvs: 2, rolloutLength: 16 }) as Ppo;
    const w0 = weightsOf(algo);
    // 84 -> 20 -> 9 -> 7: 7 x 7 x 64 = 3136 features into the 512-wide layer.
    assert.deepEqual(w0.slice(0, 8).map((w) => [w.name, w.shape]), [
      ['conv/0/w', [256, 32]], ['conv/0/b', [32]], ['conv/1/w', [512, 64]], ['conv/1/b', [64]],
      ['conv/2/w', [576, 64]], ['conv/2/b', [64]], ['shared/0/w', [3136, 512]], ['shared/0/b', [512]],
    ]);
    const w = worker(specOf(algo), ppo.createPolicy(specOf(algo)));
    w.setParams(paramsOf(algo), 0);
    const batch = w.sample();
    assert.ok(batch.obs instanceof Uint8Array, 'the worker sends the frames as bytes');
    // Frames of 0..255 reach the network / 255: the untrained values stay of order one (unscaled, a relu net's are 255 times as large).
    assert.equal(batch.obs.reduce((m, v) => Math.max(m, v), 0), 255);
    const largest = (batch.columns.value as Float32Array).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(largest > 0.01 && largest < 2, `the workers' values reach ${largest}`);
    const metrics = await algo.update([batch], { envSteps: 32, policyVersion: 0 });
    // Returns are 0..4; the learner's values of its frames / 255 are small too (unscaled: a value loss near 900).
    assert.ok(metrics.valueLoss < 20, `value loss ${metrics.valueLoss}`);
    for (const k of ['policyLoss', 'valueLoss', 'entropy', 'approxKl']) assert.ok(Number.isFinite(metrics[k]), `${k} is ${metrics[k]}`);
    // Biases are 0 at the start, and the heads' gradients reach every one of them.
    assert.deepEqual(changed(w0, weightsOf(algo)), w0.map((t) => t.name));
    const tensors = tf.memory().numTensors; // Adam's moments are made at the first step
    await algo.update([w.sample()], { envSteps: 64, policyVersion: 0 });
    assert.equal(tf.memory().numTensors, tensors);
    w.close();
    algo.dispose();
  });

  it('takes one DQN gradient step from a replay of uint8 frames: every tensor moves, nothing leaks', async () => {
    const config = dqnConfigSchema.parse({ learningStarts: 32, batchSize: 32, trainFrequency: 32, bufferSize: 1000 });
    const algo = dqn.create({ config, model: { ...natureCnn, sharedLayers: false }, ...spaces(), seed: 2, totalEnvs: 2, rolloutLength: 16, totalEnvSteps: 10_000 }) as Dqn;
    const w0 = weightsOf(algo);
    assert.deepEqual(w0.slice(0, 8).map((t) => t.shape), [[256, 32], [32], [512, 64], [64], [576, 64], [64], [3136, 512], [512]]);
    const w = worker(specOf(algo), dqn.createPolicy(specOf(algo), { slot: 0, numSlots: 1 }));
    w.setParams(paramsOf(algo), 0);
    const batch = w.sample();
    const metrics = await algo.update([batch], { envSteps: 32, policyVersion: 0 });
    assert.equal(metrics.gradientSteps, 1);
    assert.ok(Number.isFinite(metrics.loss), `loss is ${metrics.loss}`);
    // Rewards are 0 or 1 and the untrained Q-values of frames / 255 small: a small loss (unscaled: about 144).
    assert.ok(metrics.loss < 5, `loss ${metrics.loss}`);
    assert.deepEqual(changed(w0, weightsOf(algo)), w0.map((t) => t.name));
    const tensors = tf.memory().numTensors; // the optimizer's moments and the target network are made at the first step
    assert.equal((await algo.update([w.sample()], { envSteps: 64, policyVersion: 0 })).gradientSteps, 1);
    assert.equal(tf.memory().numTensors, tensors);
    w.close();
    algo.dispose();
  });
});
