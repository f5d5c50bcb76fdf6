import { algorithms } from '../algorithms';
import { DEFAULT_POLICY, type ModelConfig, type PolicySpec } from '../core/algorithm';
import { makeMultiAgentEnv } from '../envs';
import { selectBackend } from '../src/backend';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import { MultiAgentSampler } from '../src/runtime/multi-agent/sampler';
import { batchExpectation } from '../src/transport/protocol';
import { median, writeBenchJson } from './bench-json';

/**
 * `node dist/bench/run.js multi-agent`: agent steps per
 * second of local sampling on Connect Four, one PPO policy [256, 256] relu at 32 envs, runs
 * interleaved so that the machine's load hits both alike (medians of ROUNDS):
 * single-agent ConnectFour-v0 (the policy against the env's random opponent, whose moves cost
 * no forward pass) against the two-player env with both seats mapped to the one policy
 * (`MultiAgentSampler`: every move a forward pass, grouped per policy, and per-agent trajectories).
 */
const ROUNDS = 5;
const STEPS = 8192;

export async function multiAgentSampling(): Promise<void> {
  await selectBackend('auto');
  const ppo = algorithms.ppo;
  const config = ppo.configSchema.parse({});
  const model: ModelConfig = { hiddenSizes: [256, 256], activation: 'relu', sharedLayers: false };
  const base = makeMultiAgentEnv('ConnectFour-v0');
  const spaces = { observationSpace: base.observationSpaces.player_0.toSpec(), actionSpace: base.actionSpaces.player_0.toSpec(), actionMask: true };
  const spec: PolicySpec = ppo.policySpec({ config, model, ...spaces, policyId: DEFAULT_POLICY });
  const learner = ppo.create({ config, model, ...spaces, seed: 0, totalEnvs: 32, rolloutLength: 128 });
  const params = learner.getParams()[DEFAULT_POLICY];
  const single = new RolloutWorker({ workerId: 0, envId: 'ConnectFour-v0', envConfig: {}, numEnvs: 32, rolloutLength: STEPS / 32, seed: 0, policy: ppo.createPolicy(spec), spec });
  single.setParams(params, 0);
  const main = { ...spec, policyId: 'main' };
  const multi = new MultiAgentSampler({
    envs: Array.from({ length: 32 }, () => makeMultiAgentEnv('ConnectFour-v0')),
    seed: 0,
    spec: main,
    builtins: {},
    createPolicy: (s) => ppo.createPolicy(s),
    matchup: () => ({ player_0: 'main', player_1: 'main' }),
    expect: batchExpectation({ main }),
  });
  await multi.broadcast({ main: params }, 0);
  const rates = { single: [] as number[], multi: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    let t = performance.now();
    const b = single.sample();
    rates.single.push((b.numEnvs * b.length) / ((performance.now() - t) / 1000));
    t = performance.now();
    const batches = await multi.collect(STEPS);
    rates.multi.push(batches.reduce((s, x) => s + x.length, 0) / ((performance.now() - t) / 1000));
  }
  const figures = { singleAgentStepsPerSecond: median(rates.single), multiAgentStepsPerSecond: median(rates.multi) };
  console.log(`\n== multi-agent sampling, ConnectFour-v0, PPO [256, 256], 32 envs, medians of ${ROUNDS} ==`);
  console.log(`single-agent (vs random): ${figures.singleAgentStepsPerSecond.toFixed(0)} agent steps/s; two players, one policy: ${figures.multiAgentStepsPerSecond.toFixed(0)} agent steps/s (${((100 * figures.multiAgentStepsPerSecond) / figures.singleAgentStepsPerSecond).toFixed(0)}%)`);
  writeBenchJson('multi-agent', figures);
  single.close();
  await multi.close();
  learner.dispose();
  base.close();
}
