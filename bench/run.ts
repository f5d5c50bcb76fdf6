/**
 * `npm run bench`: PPO and DQN CartPole time-to-solve over three seeds, sampling, transport,
 * one learner's intake from K workers (ingest), the queue schedule's learner fed by K workers, decoding on its thread or another (queue), the weight broadcast to K, config loading (config-load), DQN learner and replay throughput, SAC's gradient step (sac), random exploration on MountainCarContinuous held for k steps (mcc-explore); `node dist/bench/run.js <part>` runs one part.
 * `solve-suite` (not part of the default run: it takes an hour or more) trains every shipped config on seeds 0-2 (bench/solve-suite.ts).
 * `eval-stop` (not part of the default run either: about an hour) compares stop rules on evaluation on LunarLander (bench/eval-stop.ts).
 * `sampling` compares one worker's sampling with its forward pass on tfjs and on onnxruntime, interleaved (bench/sampling.ts).
 * `multi-agent` compares local sampling of two-player Connect Four (one policy in both seats) with the single-agent view, per agent step, then the same through two worker processes each (`multi-agent-workers` alone; bench/multi-agent.ts).
 * `grad-paths` times one PPO and DQN gradient step through the tape and through the written-out gradient (bench/grad-paths.ts).
 * `compute` (not part of the default run) times PPO gradient steps and act() from MLPs to the Nature CNN against PyTorch on the same core, when /usr/bin/python3 has torch (bench/compute.ts).
 * `soak [--minutes N] [--workers K]` (not part of the default run: N minutes, default 10) watches the learner's memory (bench/soak.ts).
 * `tune-overhead [--trials 16] [--iterations 3] [--local runners|processes]` (not part of the default run) says where a sweep of trivial `rl tune` trials spends its wall time (bench/tune-overhead.ts).
 * Figures are medians; the machine is shared and noisy, so read them as such.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../src/config/load';
import { broadcast } from './broadcast';
import { configLoad } from './config-load';
import { dqnGradientSteps, replayThroughput } from './dqn';
import { sacGradientSteps } from './sac';
import { mccExplore } from './mcc-explore';
import { ingest } from './ingest';
import { queueBench } from './queue';
import { slowWorkerBench } from './slow-worker';
import { samplingThroughput } from './sampling';
import { multiAgentSampling, multiAgentWorkers } from './multi-agent';
import { evalStop } from './eval-stop';
import { gradPaths } from './grad-paths';
import { compute } from './compute';
import { soak } from './soak';
import { tuneOverhead } from './tune-overhead';
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

async function main(): Promise<void> {
  const only = process.argv[2];
  if (!only || only === 'sampling') await samplingThroughput();
  if (!only || only === 'multi-agent') await multiAgentSampling();
  if (!only || only === 'multi-agent' || only === 'multi-agent-workers') await multiAgentWorkers();
  if (!only || only === 'workers') await workerThroughput();
  if (!only || only === 'transport') await transport();
  if (!only || only === 'ingest') await ingest();
  if (!only || only === 'broadcast') await broadcast();
  if (!only || only === 'queue') await queueBench();
  if (only === 'slow-worker') await slowWorkerBench();
  if (!only || only === 'config-load') configLoad();
  if (!only || only === 'solve') timeToSolve('configs/ppo-cartpole.yaml', [0, 1, 2]);
  if (only === 'solve-suite') solveSuite(process.argv.slice(3));
  if (only === 'eval-stop') await evalStop(process.argv.slice(3));
  if (!only || only === 'grad-paths') await gradPaths();
  if (only === 'compute') await compute();
  if (only === 'soak') await soak(process.argv.slice(3));
  if (only === 'tune-overhead') await tuneOverhead(process.argv.slice(3));
  if (!only || only === 'dqn') {
    await dqnGradientSteps();
    replayThroughput();
  }
  if (!only || only === 'sac') await sacGradientSteps();
  if (!only || only === 'mcc-explore') mccExplore();
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
