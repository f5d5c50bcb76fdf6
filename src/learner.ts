import * as fs from 'node:fs';
import * as path from 'node:path';
import { algorithms } from '../algorithms';
import { makeEnv } from '../envs/registry';
import type { Algorithm } from './algorithm';
import { selectBackend } from './backend';
import { configToYaml, validateConfig } from './config/load';
import type { RunConfig } from './config/schema';
import { EpisodeWindow, formatIteration, stopReason } from './metrics';
import { RolloutWorker } from './rollout-worker';
import { JsonlWriter, newRunDir } from './run-dir';
import { LocalSampler, type Sampler } from './sampler';

export interface TrainOptions {
  /** Where the run's files go; default runs/<name>-<timestamp>. */
  runDir?: string;
  /** Console output; default console.log. Pass () => {} for none. */
  log?: (line: string) => void;
  /** Aborting it ends the run after the current iteration (Ctrl-C in the CLI). */
  signal?: AbortSignal;
}

export interface TrainResult {
  runDir: string;
  stopReason: string;
  iterations: number;
  envSteps: number;
  wallSeconds: number;
  episodes: number;
  episodeReturnMean: number;
  /** The last iteration's record, as in progress.jsonl. */
  metrics: Record<string, number>;
}

/**
 * Trains until a `stop:` condition is reached. Each iteration has three phases: sample
 * (gather `trainBatchSize` steps), update (the algorithm's training step), sync (broadcast
 * the new weights with the next policyVersion).
 */
export async function train(config: RunConfig | Record<string, unknown>, opts: TrainOptions = {}): Promise<TrainResult> {
  const cfg = validateConfig(config as Record<string, unknown>);
  const log = opts.log ?? ((line: string) => console.log(line));
  const { backend, tried } = await selectBackend(cfg.backend);
  log(`tfjs backend: ${backend}${tried.length > 0 ? ` (not available: ${tried.join('; ')})` : ''}`);

  const module = algorithms[cfg.algorithm];
  const w = cfg.workers;
  const probe = makeEnv(cfg.env.id, cfg.env.config);
  const spaces = { observationSpace: probe.observationSpace.toSpec(), actionSpace: probe.actionSpace.toSpec() };
  probe.close();
  const algorithm: Algorithm = module.create({
    config: cfg[cfg.algorithm],
    model: cfg.model,
    ...spaces,
    seed: cfg.seed,
    totalEnvs: Math.max(1, w.numWorkers) * w.envsPerWorker,
    rolloutLength: w.rolloutLength,
    totalEnvSteps: cfg.stop.envSteps,
  });
  const spec = algorithm.policySpec();
  const sampler: Sampler = new LocalSampler(
    new RolloutWorker({
      workerId: 0,
      envId: cfg.env.id,
      envConfig: cfg.env.config,
      numEnvs: w.envsPerWorker,
      rolloutLength: w.rolloutLength,
      seed: cfg.seed,
      policy: module.createPolicy(spec),
    }),
  );

  const runDir = opts.runDir ?? newRunDir(cfg.name ?? cfg.algorithm);
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(path.join(runDir, 'config.yaml'), configToYaml(cfg));
  const progress = new JsonlWriter(path.join(runDir, 'progress.jsonl'));
  log(`training ${cfg.algorithm} on ${cfg.env.id}: ${algorithm.trainBatchSize} steps per iteration, run dir ${runDir}`);

  const episodes = new EpisodeWindow(100);
  const start = performance.now();
  let envSteps = 0;
  let iteration = 0;
  let policyVersion = 0;
  let reason: string | undefined;
  let record: Record<string, number> = {};
  try {
    await sampler.broadcast(algorithm.getWeights(), policyVersion);
    while (reason === undefined) {
      const iterStart = performance.now();
      const batches = await sampler.collect(algorithm.trainBatchSize);
      const sampleSeconds = (performance.now() - iterStart) / 1000;
      for (const b of batches) {
        envSteps += b.numEnvs * b.length;
        episodes.add(b.episodes.returns, b.episodes.lengths);
      }
      iteration += 1;
      const updateStart = performance.now();
      const metrics = await algorithm.update(batches, { iteration, envSteps });
      const updateSeconds = (performance.now() - updateStart) / 1000;
      policyVersion += 1;
      await sampler.broadcast(algorithm.getWeights(), policyVersion);

      const wallSeconds = (performance.now() - start) / 1000;
      const iterSeconds = (performance.now() - iterStart) / 1000;
      const steps = batches.reduce((s, b) => s + b.numEnvs * b.length, 0);
      record = {
        iteration,
        envSteps,
        wallSeconds,
        episodeReturnMean: episodes.returnMean,
        episodeLenMean: episodes.lengthMean,
        episodes: episodes.total,
        envStepsPerSecond: steps / iterSeconds,
        sampleSeconds,
        updateSeconds,
        policyVersion,
        ...sampler.stats(),
        ...metrics,
      };
      progress.write(record);
      log(formatIteration(cfg.stop, record as typeof record & { iteration: number; envSteps: number; wallSeconds: number; episodeReturnMean: number }));
      reason = stopReason(cfg.stop, { iteration, envSteps, wallSeconds, episodeReturnMean: episodes.returnMean });
      if (reason === undefined && opts.signal?.aborted) reason = 'interrupted';
    }
  } finally {
    progress.close();
    await sampler.close();
    algorithm.dispose();
  }
  const wallSeconds = (performance.now() - start) / 1000;
  log(
    `done: ${reason}. ${iteration} iterations, ${envSteps.toLocaleString('en-US')} env steps, ${episodes.total} episodes in ${wallSeconds.toFixed(1)} s; ` +
      `episode return mean ${episodes.returnMean.toFixed(1)}. Run dir: ${runDir}`,
  );
  return {
    runDir,
    stopReason: reason,
    iterations: iteration,
    envSteps,
    wallSeconds,
    episodes: episodes.total,
    episodeReturnMean: episodes.returnMean,
    metrics: record,
  };
}
