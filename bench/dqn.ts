import { dqn, dqnConfigSchema, type Dqn } from '../algorithms/dqn/dqn';
import { ReplayBuffer } from '../algorithms/common/replay';
import { makeEnv, Rng } from '../envs';
import { DEFAULT_POLICY, type TrajectoryBatch } from '../core/algorithm';
import { selectBackend } from '../src/backend';
import { median } from './bench-json';

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

/** A batch of random CartPole-shaped transitions (the learner's cost does not depend on their values). */
function randomBatch(rng: Rng, numEnvs: number, length: number, obsSize: number): TrajectoryBatch & { obs: Float32Array } {
  const rows = numEnvs * length;
  return {
    workerId: 0, seq: 0, policyId: DEFAULT_POLICY, policyVersion: 0, numEnvs, length,
    obs: Float32Array.from({ length: rows * obsSize }, () => rng.normal()),
    actions: Float32Array.from({ length: rows }, () => rng.int(2)),
    rewards: new Float32Array(rows).fill(1),
    terminated: Uint8Array.from({ length: rows }, () => (rng.random() < 0.02 ? 1 : 0)),
    truncated: new Uint8Array(rows),
    columns: {},
    state: {},
    nextObs: Float32Array.from({ length: numEnvs * obsSize }, () => rng.normal()),
    finalObs: { index: new Int32Array(0), obs: new Float32Array(0) },
    nextMasks: null,
    episodes: { returns: new Float32Array(0), lengths: new Int32Array(0) },
  };
}

/** Gradient steps per second of the DQN learner, by network and minibatch size. */
export async function dqnGradientSteps(): Promise<void> {
  const { backend } = await selectBackend('auto');
  console.log(`\n== DQN learner, CartPole-v1 shapes, ${backend} (gradient steps/s, median of 5 x 200 steps) ==`);
  const env = makeEnv('CartPole-v1');
  const spaces = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
  const rng = new Rng(0);
  for (const [hidden, batchSize, doubleQ] of [[[64, 64], 64, true], [[128, 128], 64, true], [[128, 128], 256, true], [[256, 256], 64, true], [[128, 128], 64, false]] as const) {
    const config = dqnConfigSchema.parse({ batchSize, doubleQ, learningStarts: 0, trainFrequency: 1, bufferSize: 10_000 });
    const algo = dqn.create({ config, model: { hiddenSizes: [...hidden], activation: 'relu', sharedLayers: false }, ...spaces, seed: 0, totalEnvs: 1, rolloutLength: 1, totalEnvSteps: 1e6 }) as Dqn;
    await algo.update([randomBatch(rng, 1, 1000, 4)], { envSteps: 1000, policyVersion: 0 }); // fill, and warm up 1000 steps
    const rates: number[] = [];
    for (let i = 0; i < 5; i++) {
      const batch = randomBatch(rng, 1, 200, 4);
      const t = performance.now();
      await algo.update([batch], { envSteps: 1000 + 200 * i, policyVersion: 0 });
      rates.push(200 / ((performance.now() - t) / 1000));
    }
    algo.dispose();
    console.log(`[${hidden}] relu, batch ${String(batchSize).padStart(3)}, ${doubleQ ? 'double' : 'plain '} DQN: ${fmt(median(rates)).padStart(6)} gradient steps/s`);
  }
}

/** Replay buffer insert and sample throughput (transitions/s), uniform and prioritized. */
export function replayThroughput(): void {
  console.log('\n== replay buffer, CartPole-sized transitions (4 floats), capacity 100,000 (transitions/s, median of 5) ==');
  const rng = new Rng(0);
  const batch = randomBatch(rng, 8, 1000, 4);
  const transitions = { obs: batch.obs, nextObs: batch.obs, actions: Int32Array.from(batch.actions), rewards: batch.rewards, discounts: new Float32Array(8000).fill(0.99) };
  for (const prioritized of [null, { alpha: 0.6, eps: 1e-6 }]) {
    const buffer = new ReplayBuffer(100_000, 4, prioritized);
    const inserts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      for (let k = 0; k < 25; k++) buffer.add(transitions); // 200k: wraps around
      inserts.push(200_000 / ((performance.now() - t) / 1000));
    }
    const samples: number[] = [];
    const td = Float32Array.from({ length: 256 }, () => rng.normal());
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      for (let k = 0; k < 400; k++) {
        const s = buffer.sample(256, rng, 0.5);
        buffer.updatePriorities(s.index, td);
      }
      samples.push((400 * 256) / ((performance.now() - t) / 1000));
    }
    console.log(`${prioritized ? 'prioritized' : 'uniform    '}: insert ${fmt(median(inserts)).padStart(10)}/s; sample (batches of 256${prioritized ? ' + priority update' : ''}) ${fmt(median(samples)).padStart(10)}/s`);
  }
}
