import { sac, type Sac } from '../algorithms/sac/sac';
import { DEFAULT_POLICY, type TrajectoryBatch } from '../core/algorithm';
import { makeEnv, Rng } from '../envs';
import { selectBackend } from '../src/backend';
import { median } from './bench-json';

/** A batch of random transitions of `obsSize` observations and `actionSize` Box actions (the learner's cost does not depend on their values). */
function randomBatch(rng: Rng, length: number, obsSize: number, actionSize: number): TrajectoryBatch {
  return {
    workerId: 0, seq: 0, policyId: DEFAULT_POLICY, policyVersion: 0, numEnvs: 1, length,
    obs: Float32Array.from({ length: length * obsSize }, () => rng.normal()),
    actions: Float32Array.from({ length: length * actionSize }, () => rng.normal()),
    rewards: Float32Array.from({ length }, () => rng.normal()),
    terminated: Uint8Array.from({ length }, () => (rng.random() < 0.01 ? 1 : 0)),
    truncated: new Uint8Array(length),
    columns: {},
    state: {},
    nextObs: Float32Array.from({ length: obsSize }, () => rng.normal()),
    finalObs: { index: new Int32Array(0), obs: new Float32Array(0) },
    nextMasks: null,
    episodes: { returns: new Float32Array(0), lengths: new Int32Array(0) },
  };
}

/**
 * `node dist/bench/run.js sac`: milliseconds per SAC gradient step (the critic's, the actor's and
 * the temperature's steps and the Polyak update; batch 256), at the shipped configs' network
 * sizes and the references' larger ones, median of 5 rounds of 50 steps.
 */
export async function sacGradientSteps(): Promise<void> {
  const { backend } = await selectBackend('auto');
  console.log(`\n== SAC learner, ${backend} (ms per gradient step, batch 256, median of 5 x 50 steps) ==`);
  const rng = new Rng(0);
  for (const [envId, hidden] of [['Pendulum-v1', [64, 64]], ['LunarLanderContinuous-v3', [64, 64]], ['LunarLanderContinuous-v3', [128, 128]], ['LunarLanderContinuous-v3', [256, 256]]] as const) {
    const env = makeEnv(envId);
    const spaces = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
    const [obsSize, actionSize] = [env.observationSpace, env.actionSpace].map((s) => (s.type === 'Box' ? s.size : 1));
    env.close();
    const config = sac.configSchema.parse({ batchSize: 256, learningStarts: 256, bufferSize: 10_000 });
    const algo = sac.create({ config, model: { hiddenSizes: [...hidden], activation: 'relu', sharedLayers: false }, ...spaces, seed: 0, totalEnvs: 1, rolloutLength: 1 }) as Sac;
    // Fill, and warm up: learningStarts (256) is reached within this batch, so all 1000 of its env steps earn a gradient step.
    await algo.update([randomBatch(rng, 1000, obsSize, actionSize)]);
    const ms: number[] = [];
    for (let i = 0; i < 5; i++) {
      const batch = randomBatch(rng, 50, obsSize, actionSize);
      const t = performance.now();
      await algo.update([batch]);
      ms.push((performance.now() - t) / 50);
    }
    algo.dispose();
    console.log(`${envId.padEnd(25)} [${hidden}] relu: ${median(ms).toFixed(1).padStart(5)} ms per gradient step`);
  }
}
