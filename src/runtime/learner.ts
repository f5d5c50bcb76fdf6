import * as fs from 'node:fs';
import * as path from 'node:path';
import { algorithms } from '../../algorithms';
import { createEnv } from '../env-loader';
import type { Algorithm } from '../../core/algorithm';
import { selectBackend } from '../backend';
import { dropCheckpointsAfter, loadCheckpoint, saveCheckpoint, type Checkpoint } from '../checkpoint';
import { configToYaml, validateConfig } from '../config/load';
import type { RunConfig } from '../config/schema';
import { evaluatePolicy } from '../evaluate';
import { EpisodeWindow, formatIteration, stopReason } from '../metrics';
import { RolloutWorker, type WorkerState } from './rollout-worker';
import { JsonlWriter, newRunDir, truncateProgress } from '../run-dir';
import { LocalSampler, type Sampler } from './sampler';
import type { KeyPair } from '../transport/curve';
import { WorkerPool } from './worker-pool';
import { TensorBoardWriter } from '../tensorboard';

import { PACKAGE_VERSION } from '../version';

export interface TrainOptions {
  /** Where the run's files go; default runs/<name>-<timestamp> (a resumed run: its own dir). */
  runDir?: string;
  /** A checkpoint to continue from (see `rl train --resume`). */
  resume?: string;
  /** Console output; default console.log. Pass () => {} for none. */
  log?: (line: string) => void;
  /** Aborting it ends the run after the current iteration, with a checkpoint (Ctrl-C in the CLI). */
  signal?: AbortSignal;
  /** Listen for remote workers here too (`--bind tcp://0.0.0.0:5555`). */
  bind?: string;
  /** CURVE for worker traffic: the learner's key pair and the allowed worker public keys. */
  curve?: { pair: KeyPair; allowed: Set<string> };
}

export interface TrainResult {
  runDir: string;
  stopReason: string;
  iterations: number;
  envSteps: number;
  wallSeconds: number;
  episodes: number;
  episodeReturnMean: number;
  /** The last checkpoint written. */
  checkpoint: string;
  /** The last iteration's record, as in progress.jsonl. */
  metrics: Record<string, number>;
}

interface RuntimeState {
  iteration: number;
  envSteps: number;
  wallSeconds: number;
  policyVersion: number;
  episodes: ReturnType<EpisodeWindow['getState']>;
  workers: WorkerState[];
}

/**
 * Trains until a `stop:` condition is reached. Each iteration has three phases: sample
 * (gather `trainBatchSize` steps), update (the algorithm's training step), sync (broadcast
 * the new weights with the next policyVersion); then metrics, evaluation and checkpoints.
 * An `async` algorithm runs the three phases once per arriving batch instead, until the
 * iteration has its `trainBatchSize` steps (see `Algorithm.mode`).
 */
export async function train(config: RunConfig | Record<string, unknown>, opts: TrainOptions = {}): Promise<TrainResult> {
  const cfg = validateConfig(config as Record<string, unknown>);
  const log = opts.log ?? ((line: string) => console.log(line));
  const resume: Checkpoint | undefined = opts.resume ? loadCheckpoint(opts.resume, { algorithm: cfg.algorithm }) : undefined;
  const { backend, tried } = await selectBackend(cfg.backend);
  log(`tfjs backend: ${backend}${tried.length > 0 ? ` (not available: ${tried.join('; ')})` : ''}`);

  const module = algorithms[cfg.algorithm];
  const w = cfg.workers;
  const probe = createEnv(cfg.env.id, cfg.env.config);
  const spaces = { observationSpace: probe.observationSpace.toSpec(), actionSpace: probe.actionSpace.toSpec() };
  const probeSizes = {
    obs: probe.observationSpace.size,
    action: probe.actionSpace.type === 'Discrete' ? 1 : probe.actionSpace.size,
    count: probe.actionSpace.type === 'Discrete' ? probe.actionSpace.n : undefined,
  };
  probe.close();
  const algorithm: Algorithm = module.create({
    config: cfg[cfg.algorithm],
    model: cfg.model,
    ...spaces,
    seed: cfg.seed,
    totalEnvs: Math.max(1, w.numWorkers) * w.envsPerWorker,
    numWorkers: w.numWorkers,
    rolloutLength: w.rolloutLength,
    totalEnvSteps: cfg.stop.envSteps,
  });
  const spec = algorithm.policySpec();
  const sampler: Sampler = await (
    w.numWorkers > 0 || opts.bind
      ? WorkerPool.start({
          setup: { spec, envId: cfg.env.id, envConfig: cfg.env.config, numEnvs: w.envsPerWorker, rolloutLength: w.rolloutLength, seed: cfg.seed, heartbeatSeconds: w.heartbeatSeconds, learnerDir: process.cwd() },
          expectation: { obsSize: probeSizes.obs, actionSize: probeSizes.action, actionCount: probeSizes.count, extras: spec.extras },
          numWorkers: w.numWorkers,
          bind: opts.bind,
          curve: opts.curve,
          maxPolicyLag: algorithm.maxPolicyLag,
          streaming: algorithm.mode === 'async',
          workerTimeoutSeconds: w.workerTimeoutSeconds,
          maxWorkerRestarts: w.maxWorkerRestarts,
          heartbeatSeconds: w.heartbeatSeconds,
          log,
        })
      : Promise.resolve().then(() => new LocalSampler(
          new RolloutWorker({
            workerId: 0,
            envId: cfg.env.id,
            envConfig: cfg.env.config,
            numEnvs: w.envsPerWorker,
            rolloutLength: w.rolloutLength,
            seed: cfg.seed,
            policy: module.createPolicy(spec, { slot: 0, numSlots: 1 }),
          }),
        ))
  ).catch((err: unknown) => {
    algorithm.dispose();
    throw err;
  });
  // Anything that fails from here to the training loop must not leave workers, sockets or timers behind.
  const cleanUp = async () => {
    await sampler.close();
    algorithm.dispose();
  };
  const evalPolicy = cfg.evaluation.every > 0 ? module.createPolicy(spec) : undefined;

  const episodes = new EpisodeWindow(100);
  let state: Omit<RuntimeState, 'episodes' | 'workers'> = { iteration: 0, envSteps: 0, wallSeconds: 0, policyVersion: 0 };
  const runDir = opts.runDir ?? (resume ? path.dirname(path.dirname(resume.dir)) : newRunDir(cfg.name ?? cfg.algorithm));
  let progress: JsonlWriter;
  let tensorboard: TensorBoardWriter;
  try {
    fs.mkdirSync(runDir, { recursive: true });
    if (resume) {
      const rt = resume.runtime as unknown as RuntimeState;
      await algorithm.setState(resume.algorithm);
      sampler.setState(rt.workers);
      episodes.setState(rt.episodes);
      state = { iteration: rt.iteration, envSteps: rt.envSteps, wallSeconds: rt.wallSeconds, policyVersion: rt.policyVersion };
      truncateProgress(path.join(runDir, 'progress.jsonl'), state.iteration);
      dropCheckpointsAfter(runDir, state.iteration); // the run goes on from here; later ones belong to the abandoned branch
      log(`resuming ${resume.dir}: iteration ${state.iteration}, ${state.envSteps.toLocaleString('en-US')} env steps`);
    }
    fs.writeFileSync(path.join(runDir, 'config.yaml'), configToYaml(cfg));
    progress = new JsonlWriter(path.join(runDir, 'progress.jsonl'));
    tensorboard = new TensorBoardWriter(runDir, { log });
  } catch (err) {
    evalPolicy?.dispose();
    await cleanUp();
    throw err;
  }
  log(`training ${cfg.algorithm} on ${cfg.env.id}: ${algorithm.trainBatchSize} steps per iteration, run dir ${runDir}`);

  const checkpoint = async (): Promise<string> => {
    const dir = saveCheckpoint(
      runDir,
      {
        metadata: {
          formatVersion: 1,
          packageVersion: PACKAGE_VERSION,
          algorithm: cfg.algorithm,
          envId: cfg.env.id,
          iteration: state.iteration,
          envSteps: state.envSteps,
          wallSeconds: state.wallSeconds,
          time: new Date().toISOString(),
          episodeReturnMean: Number.isNaN(episodes.returnMean) ? null : episodes.returnMean,
          config: cfg,
        },
        algorithm: await algorithm.getState(),
        runtime: { ...state, episodes: episodes.getState(), workers: sampler.getState() } satisfies RuntimeState,
      },
      cfg.checkpoint.keep,
    );
    return dir;
  };

  const start = performance.now() - state.wallSeconds * 1000;
  let reason: string | undefined;
  let record: Record<string, number> = {};
  let lastCheckpoint = '';
  let evalReturnMean: number | undefined;
  try {
    await sampler.broadcast(algorithm.getWeights(), state.policyVersion);
    while (reason === undefined) {
      const iterStart = performance.now();
      let sampleSeconds = 0;
      let updateSeconds = 0;
      let steps = 0;
      let metrics: Record<string, number> = {};
      state.iteration += 1;
      // sync: one pass. async: one pass per arriving batch, until the iteration has its steps.
      do {
        const sampleStart = performance.now();
        const batches = algorithm.mode === 'sync' ? await sampler.collect(algorithm.trainBatchSize) : await sampler.next();
        const updateStart = performance.now();
        sampleSeconds += (updateStart - sampleStart) / 1000;
        const got = batches.reduce((s, b) => s + b.numEnvs * b.length, 0);
        for (const b of batches) episodes.add(b.episodes.returns, b.episodes.lengths);
        steps += got;
        state.envSteps += got;
        // An async algorithm's metrics sum up its iteration so far: the last ones are the iteration's.
        metrics = await algorithm.update(batches, { iteration: state.iteration, envSteps: state.envSteps });
        updateSeconds += (performance.now() - updateStart) / 1000;
        if (algorithm.mode === 'sync' || algorithm.syncDue?.()) {
          state.policyVersion += 1;
          await sampler.broadcast(algorithm.getWeights(), state.policyVersion);
        }
      } while (algorithm.mode === 'async' && steps < algorithm.trainBatchSize);
      const iterSeconds = (performance.now() - iterStart) / 1000;

      let evaluation: Record<string, number> = {};
      if (evalPolicy && state.iteration % cfg.evaluation.every === 0) {
        evalPolicy.setWeights(algorithm.getWeights());
        const e = evaluatePolicy({
          policy: evalPolicy,
          envId: cfg.env.id,
          envConfig: cfg.env.config,
          episodes: cfg.evaluation.episodes,
          seed: cfg.seed + state.iteration,
          deterministic: cfg.evaluation.deterministic,
        });
        evalReturnMean = e.returnMean;
        evaluation = { evalReturnMean: e.returnMean, evalReturnStd: e.returnStd, evalReturnMin: e.returnMin, evalReturnMax: e.returnMax, evalLengthMean: e.lengthMean };
      }
      state.wallSeconds = (performance.now() - start) / 1000;
      record = {
        iteration: state.iteration,
        envSteps: state.envSteps,
        wallSeconds: state.wallSeconds,
        episodeReturnMean: episodes.returnMean,
        episodeLenMean: episodes.lengthMean,
        episodes: episodes.total,
        envStepsPerSecond: steps / iterSeconds,
        sampleSeconds,
        updateSeconds,
        policyVersion: state.policyVersion,
        ...sampler.stats(),
        ...metrics,
        ...evaluation,
      };
      progress.write(record);
      tensorboard.writeScalars(state.envSteps, record);
      log(formatIteration(cfg.stop, record as typeof record & typeof state & { episodeReturnMean: number }, algorithm.consoleMetrics));
      // Let signals (Ctrl-C) and I/O in: every await above may have resolved without yielding.
      await new Promise((resolve) => setImmediate(resolve));
      reason = stopReason(cfg.stop, { ...state, episodeReturnMean: episodes.returnMean, evalReturnMean: evaluation.evalReturnMean });
      if (reason === undefined && opts.signal?.aborted) reason = 'interrupted';
      if (reason === undefined && cfg.checkpoint.every > 0 && state.iteration % cfg.checkpoint.every === 0) lastCheckpoint = await checkpoint();
    }
    lastCheckpoint = await checkpoint();
  } finally {
    progress.close();
    tensorboard.close();
    evalPolicy?.dispose();
    await cleanUp();
  }
  log(
    `done: ${reason}. ${state.iteration} iterations, ${state.envSteps.toLocaleString('en-US')} env steps, ${episodes.total} episodes in ${state.wallSeconds.toFixed(1)} s; ` +
      `episode return mean ${episodes.returnMean.toFixed(1)}${evalReturnMean !== undefined ? `, last evaluation ${evalReturnMean.toFixed(1)}` : ''}.\n` +
      `run dir: ${runDir}\ncheckpoint: ${lastCheckpoint}`,
  );
  return {
    runDir,
    stopReason: reason,
    iterations: state.iteration,
    envSteps: state.envSteps,
    wallSeconds: state.wallSeconds,
    episodes: episodes.total,
    episodeReturnMean: episodes.returnMean,
    checkpoint: lastCheckpoint,
    metrics: record,
  };
}
