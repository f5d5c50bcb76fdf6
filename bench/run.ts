/**
 * `npm run bench`: PPO and DQN CartPole time-to-solve over three seeds, sampling, transport,
 * one learner's intake from K workers (ingest), the weight broadcast to K, config loading (config-load), DQN learner and replay throughput; `node dist/bench/run.js <part>` runs one part.
 * `solve-suite` (not part of the default run: it takes an hour or more) trains every shipped config on seeds 0-2 (bench/solve-suite.ts).
 * `eval-stop` (not part of the default run either: about an hour) compares stop rules on evaluation on LunarLander (bench/eval-stop.ts).
 * `grad-paths` times one PPO and DQN gradient step through the tape and through the written-out gradient (bench/grad-paths.ts).
 * `compute` (not part of the default run) times PPO gradient steps and act() from MLPs to the Nature CNN against PyTorch on the same core, when /usr/bin/python3 has torch (bench/compute.ts).
 * `soak [--minutes N] [--workers K]` (not part of the default run: N minutes, default 10) watches the learner's memory (bench/soak.ts).
 * Figures are medians; the machine is shared and noisy, so read them as such.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ppo, ppoConfigSchema } from '../algorithms/ppo/ppo';
import { DEFAULT_POLICY } from '../core/algorithm';
import { makeEnv, Rng, VectorEnv } from '../envs';
import { selectBackend } from '../src/backend';
import { loadConfig } from '../src/config/load';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import { broadcast } from './broadcast';
import { configLoad } from './config-load';
import { dqnGradientSteps, replayThroughput } from './dqn';
import { ingest } from './ingest';
import { evalStop } from './eval-stop';
import { gradPaths } from './grad-paths';
import { compute } from './compute';
import { soak } from './soak';
import { solveSuite } from './solve-suite';
import { transport, workerThroughput } from './workers';
import { median } from './bench-json';

const root = path.resolve(__dirname, '..', '..');

function timeToSolve(config: string, seeds: number[], sets: string[] = []): void {
  console.log(`\n== time to solve: ${config} ${sets.join(' ')} (seeds ${seeds.join(', ')}) ==`);
  const rows = seeds.map((seed) => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-bench-'));
    const start = performance.now();
    const r = spawnSync(process.execPath, [path.join(root, 'dist/src/cli.js'), 'train', '--config', config, '--seed', String(seed), '--run-dir', runDir, ...sets.flatMap((o) => ['--set', o])], {
      cwd: root,
      encoding: 'utf8',
    });
    const processSeconds = (performance.now() - start) / 1000;
    if (r.status !== 0) throw new Error(`seed ${seed} failed: ${r.stderr}`);
    const evaluation = spawnSync(process.execPath, [path.join(root, 'dist/src/cli.js'), 'evaluate', '--checkpoint', runDir, '--episodes', '100', '--json'], { cwd: root, encoding: 'utf8' });
    const evalReturn = JSON.parse(evaluation.stdout).returnMean as number;
    const progress = fs.readFileSync(path.join(runDir, 'progress.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const last = progress[progress.length - 1];
    const sum = (k: string) => progress.reduce((s, p) => s + p[k], 0);
    const stop = loadConfig(path.join(root, config)).stop;
    const row = {
      seed,
      solved: stop.evalReturnMean !== undefined ? last.evalReturnMean >= stop.evalReturnMean : last.episodeReturnMean >= (stop.episodeReturnMean ?? Infinity),
      envSteps: last.envSteps,
      wallSeconds: last.wallSeconds,
      processSeconds,
      sampleSeconds: sum('sampleSeconds'),
      updateSeconds: sum('updateSeconds'),
      returnMean: last.episodeReturnMean,
      evalReturn,
    };
    console.log(
      `seed ${seed}: ${row.solved ? 'solved' : 'NOT solved'} at ${row.envSteps} steps, ${row.wallSeconds.toFixed(1)} s training ` +
        `(${processSeconds.toFixed(1)} s with start-up; sampling ${row.sampleSeconds.toFixed(1)} s, update ${row.updateSeconds.toFixed(1)} s), return ${row.returnMean.toFixed(1)}; ` +
        `rl evaluate over 100 episodes: ${row.evalReturn.toFixed(1)}`,
    );
    fs.rmSync(runDir, { recursive: true, force: true });
    return row;
  });
  console.log(
    `median: ${median(rows.map((r) => r.wallSeconds)).toFixed(1)} s, ${median(rows.map((r) => r.envSteps))} env steps; ` +
      `solved ${rows.filter((r) => r.solved).length}/${rows.length}; update share ${(
        (100 * rows.reduce((s, r) => s + r.updateSeconds, 0)) /
        rows.reduce((s, r) => s + r.updateSeconds + r.sampleSeconds, 0)
      ).toFixed(0)}%`,
  );
}

async function samplingThroughput(): Promise<void> {
  await selectBackend('auto');
  console.log('\n== sampling throughput, CartPole-v1, PPO policy [64, 64] (env steps/s, median of 5) ==');
  const env = makeEnv('CartPole-v1');
  const spec = ppo.create({
    config: ppoConfigSchema.parse({}),
    model: { hiddenSizes: [64, 64], activation: 'tanh', sharedLayers: false },
    observationSpace: env.observationSpace.toSpec(),
    actionSpace: env.actionSpace.toSpec(),
    seed: 0,
    totalEnvs: 1,
    rolloutLength: 1,
  });
  for (const numEnvs of [1, 8, 64]) {
    const rolloutLength = Math.max(16, Math.round(4096 / numEnvs));
    const worker = new RolloutWorker({ workerId: 0, envId: 'CartPole-v1', envConfig: {}, numEnvs, rolloutLength, seed: 0, policy: ppo.createPolicy(spec.policySpecs()[DEFAULT_POLICY]), spec: spec.policySpecs()[DEFAULT_POLICY] });
    worker.setParams(spec.getParams()[DEFAULT_POLICY], 0);
    worker.sample(); // warm-up
    const withPolicy: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      worker.sample();
      withPolicy.push((numEnvs * rolloutLength) / ((performance.now() - t) / 1000));
    }
    worker.close();
    // The envs alone, with random actions: what sampling would be without inference.
    const vec = new VectorEnv('CartPole-v1', Array.from({ length: numEnvs }, () => makeEnv('CartPole-v1')));
    vec.reset(Array.from({ length: numEnvs }, (_, i) => i));
    const rng = new Rng(0);
    const actions = new Float32Array(numEnvs);
    const envOnly: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      for (let s = 0; s < rolloutLength; s++) {
        for (let e = 0; e < numEnvs; e++) actions[e] = rng.int(2);
        vec.step(actions);
      }
      envOnly.push((numEnvs * rolloutLength) / ((performance.now() - t) / 1000));
    }
    const p = median(withPolicy);
    const e = median(envOnly);
    console.log(
      `${String(numEnvs).padStart(2)} envs: ${Math.round(p).toLocaleString('en-US').padStart(8)} steps/s with inference; envs alone ${Math.round(e).toLocaleString('en-US').padStart(9)} steps/s ` +
        `(inference ${((1 - p / e) * 100).toFixed(0)}% of sampling time)`,
    );
  }
  spec.dispose();
}

async function main(): Promise<void> {
  const only = process.argv[2];
  if (!only || only === 'sampling') await samplingThroughput();
  if (!only || only === 'workers') await workerThroughput();
  if (!only || only === 'transport') await transport();
  if (!only || only === 'ingest') await ingest();
  if (!only || only === 'broadcast') await broadcast();
  if (!only || only === 'config-load') configLoad();
  if (!only || only === 'solve') timeToSolve('configs/ppo-cartpole.yaml', [0, 1, 2]);
  if (only === 'solve-suite') solveSuite(process.argv.slice(3));
  if (only === 'eval-stop') await evalStop(process.argv.slice(3));
  if (!only || only === 'grad-paths') await gradPaths();
  if (only === 'compute') await compute();
  if (only === 'soak') await soak(process.argv.slice(3));
  if (!only || only === 'dqn') {
    await dqnGradientSteps();
    replayThroughput();
  }
  if (!only || only === 'solve-dqn' || only === 'solve-dqn-local') timeToSolve('configs/dqn-cartpole.yaml', [0, 1, 2]);
  if (!only || only === 'solve-dqn' || only === 'solve-dqn-workers') timeToSolve('configs/dqn-cartpole-workers.yaml', [0, 1, 2]);
  if (!only || only === 'solve-workers') {
    timeToSolve('configs/ppo-cartpole-workers.yaml', [0, 1, 2]);
    timeToSolve('configs/ppo-cartpole-workers.yaml', [0, 1, 2], ['ppo.maxPolicyLag=1']);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
