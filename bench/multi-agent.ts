import { algorithms } from '../algorithms';
import { DEFAULT_POLICY, type Algorithm, type ModelConfig, type PolicyParams, type PolicySpec } from '../core/algorithm';
import { makeMultiAgentEnv } from '../envs';
import { selectBackend } from '../src/backend';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import { MultiAgentSampler } from '../src/runtime/multi-agent/sampler';
import { WorkerPool } from '../src/runtime/pool/worker-pool';
import { batchExpectation, type WorkerSetup } from '../src/transport/protocol';
import { median, writeBenchJson } from './bench-json';

/**
 * `node dist/bench/run.js multi-agent`: local sampling (below), then the same through two
 * worker processes (`multiAgentWorkers`); `multi-agent-workers` runs the second alone. Agent steps per
 * second of local sampling on Connect Four, one PPO policy [256, 256] relu at 32 envs, runs
 * interleaved so that the machine's load hits both alike (medians of ROUNDS):
 * single-agent ConnectFour-v0 (the policy against the env's random opponent, whose moves cost
 * no forward pass) against the two-player env with both seats mapped to the one policy
 * (`MultiAgentSampler`: every move a forward pass, grouped per policy, and per-agent trajectories).
 */
const ROUNDS = 5;
const STEPS = 8192;

/** The benchmarked policy: PPO [256, 256] relu on ConnectFour-v0's spaces, its spec (`default`) and initial params. */
async function connectFourPolicy(): Promise<{ ppo: typeof algorithms.ppo; spec: PolicySpec; params: PolicyParams; learner: Algorithm }> {
  await selectBackend('auto');
  const ppo = algorithms.ppo;
  const config = ppo.configSchema.parse({});
  const model: ModelConfig = { hiddenSizes: [256, 256], activation: 'relu', sharedLayers: false };
  const base = makeMultiAgentEnv('ConnectFour-v0');
  const spaces = { observationSpace: base.observationSpaces.player_0.toSpec(), actionSpace: base.actionSpaces.player_0.toSpec(), actionMask: true };
  base.close();
  const spec: PolicySpec = ppo.policySpec({ config, model, ...spaces, policyId: DEFAULT_POLICY });
  const learner = ppo.create({ config, model, ...spaces, seed: 0, totalEnvs: 32, rolloutLength: 128 });
  return { ppo, spec, params: learner.getParams()[DEFAULT_POLICY], learner };
}

export async function multiAgentSampling(): Promise<void> {
  const { ppo, spec, params, learner } = await connectFourPolicy();
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
}

/** Worker processes per pool, and collects per pool (after a warm-up one), in the two-worker mode. */
const WORKERS = 2;
const WORKER_ROUNDS = 9;

/**
 * `node dist/bench/run.js multi-agent-workers`: the throughput target, multi-agent
 * sampling with two workers within 20% of single-agent sampling per agent step. Two pools of
 * two worker processes each, PPO [256, 256] relu, 32 envs a worker: single-agent
 * ConnectFour-v0 (the policy against the env's random opponent) and two-player
 * ConnectFour-v0 self-play (both seats the trained policy: every move a forward pass, the
 * per-agent batches and the game results in one `games` message). Sync mode (no lag): a pool's
 * workers sample only while it collects, so the collects alternate between the pools and
 * the machine's load hits both alike; agent steps per second are the learner's intake over a
 * collect of STEPS per worker, medians of WORKER_ROUNDS.
 */
export async function multiAgentWorkers(): Promise<void> {
  const { spec, params, learner } = await connectFourPolicy();
  const main = { ...spec, policyId: 'main' };
  const agents = ['player_0', 'player_1'];
  const start = (setup: Pick<WorkerSetup, 'policies' | 'multiAgent'>) =>
    WorkerPool.start({
      setup: { ...setup, envId: 'ConnectFour-v0', envConfig: {}, numEnvs: 32, rolloutLength: STEPS / 32, seed: 0, heartbeatSeconds: 1, learnerDir: process.cwd() },
      numWorkers: WORKERS,
      maxPolicyLag: 0,
      workerTimeoutSeconds: 60,
      maxWorkerRestarts: 0,
      heartbeatSeconds: 1,
      log: () => {},
    });
  const pools = {
    single: await start({ policies: { [DEFAULT_POLICY]: spec } }),
    multi: await start({ policies: { main }, multiAgent: { trained: ['main'], agents, builtins: {}, mapping: { player_0: 'main', player_1: 'main' } } }),
  };
  const rates = { single: [] as number[], multi: [] as number[] };
  try {
    await pools.single.broadcast({ [DEFAULT_POLICY]: params }, 0);
    await pools.multi.broadcast({ main: params }, 0);
    for (let r = -1; r < WORKER_ROUNDS; r++) {
      for (const kind of ['single', 'multi'] as const) {
        const t = performance.now();
        const batches = await pools[kind].collect(WORKERS * STEPS);
        const rate = batches.reduce((n, b) => n + b.numEnvs * b.length, 0) / ((performance.now() - t) / 1000);
        if (r >= 0) rates[kind].push(rate); // round -1: the workers join, build their policies, compile
      }
    }
  } finally {
    await pools.single.close();
    await pools.multi.close();
    learner.dispose();
  }
  const figures = { workers: WORKERS, singleAgentStepsPerSecond: median(rates.single), multiAgentStepsPerSecond: median(rates.multi), rounds: rates };
  const ratio = figures.multiAgentStepsPerSecond / figures.singleAgentStepsPerSecond;
  console.log(`\n== multi-agent sampling through ${WORKERS} worker processes, ConnectFour-v0, PPO [256, 256], 32 envs a worker, medians of ${WORKER_ROUNDS} ==`);
  console.log(`single-agent (vs random): ${figures.singleAgentStepsPerSecond.toFixed(0)} agent steps/s; two players, one policy: ${figures.multiAgentStepsPerSecond.toFixed(0)} agent steps/s; ratio ${ratio.toFixed(2)} (target >= 0.80)`);
  writeBenchJson('multi-agent-workers', { ...figures, ratio });
}
