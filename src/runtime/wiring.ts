import * as fs from 'node:fs';
import * as path from 'node:path';
import { algorithms } from '../../algorithms';
import { DEFAULT_POLICY, type Algorithm, type MetricSpec, type ParamsById, type SamplingPolicy } from '../../core/algorithm';
import { seedStreams } from '../../core/seed-streams';
import { ConfigError } from '../../core/errors';
import type { Checkpoint } from '../checkpoint';
import { configToYaml, totalEnvs } from '../config/load';
import type { RunConfig } from '../config/schema';
import { createEnv, parseModuleRef } from '../env-loader';
import { bundleEnvModule } from '../env-code/bundle';
import { evaluatePolicy, evaluationMetrics, evaluationRecord } from '../evaluate';
import { writeEvaluationVideo } from '../record';
import { episodeMetrics } from '../metrics';
import { acquireRunDir, newRunDir } from '../run-dir';
import type { KeyPair } from '../transport/curve';
import { loopMetrics } from './iteration-record';
import { queueMetrics } from './drivers';
import { RolloutWorker } from './rollout-worker';
import { batchExpectation, type MultiAgentSetup, type WorkerSetup } from '../transport/protocol';
import { RunState } from './run-state';
import { LocalSampler, samplerMetrics, type Sampler } from './sampler';
import { WorkerPool, type WorkerPoolOptions } from './pool/worker-pool';
import { inferenceEngine, policyOn } from '../inference/engine';
import type { CleanUp } from './clean-up';
import { wireMultiAgent } from './multi-agent/wiring';

export interface RunParts {
  algorithm: Algorithm;
  sampler: Sampler;
  run: RunState;
  /** Every metric of an iteration's record: the loop's, the episodes', the sampler's, the algorithm's, evaluation's. */
  metrics: MetricSpec[];
  /** Evaluation during training, when due at this (finished) iteration: its metrics; else undefined. */
  /** At an evaluation iteration: the evaluation's metrics (and, with `evaluation.video`, its video); otherwise undefined. */
  evaluate(iteration: number, params: () => ParamsById): Promise<Record<string, number> | undefined>;
}

/** Options of the wiring that come from the command line rather than the config. */
export interface WiringOptions {
  runDir?: string;
  /** See `TrainOptions.replaceLeftovers`. */
  replaceLeftovers?: boolean;
  bind?: string;
  curve?: { pair: KeyPair; allowed: Set<string> };
  /** Aborted: the worker pool stops waiting for batches (see `WorkerPoolOptions.signal`). */
  signal?: AbortSignal;
  log: (line: string) => void;
}

/**
 * A module env, for remote workers that lack it: bundled into one file (with its local
 * imports and npm dependencies; never this package), at the start of the run so that what
 * cannot be shipped (a native addon, a bundle over the limit) is said before anything trains.
 * Spawned workers load the module itself; so does a run without `--bind`.
 */
async function shippedCode(envId: string, opts: WiringOptions): Promise<{ sha256: string; source: Buffer } | undefined> {
  const ref = parseModuleRef(envId);
  if (!ref || !opts.bind) return undefined;
  if (!opts.curve) {
    // Code goes only to workers that can prove who sent it; over plain TCP no worker may run it, so none is sent.
    opts.log(`env code is not shipped over ${opts.bind} without CURVE: remote workers load ${path.basename(ref.file)} from their own copy (rl worker --env-dir DIR)`);
    return undefined;
  }
  const bundle = await bundleEnvModule(ref.file);
  opts.log(`env code for remote workers: ${path.basename(ref.file)} bundled, ${(bundle.bytes / 1024).toFixed(1)} KiB, sha256 ${bundle.sha256.slice(0, 12)} (sent to workers started with --accept-code)`);
  return { sha256: bundle.sha256, source: bundle.source };
}

/**
 * Config -> algorithm -> sampler (local, or the worker pool) -> run state, resumed from
 * `resume` if given. Whatever it starts is registered with `cleanUp`, so a failure part way
 * leaves no workers, sockets or tensors behind.
 */
export async function wireRun(cfg: RunConfig, opts: WiringOptions, cleanUp: CleanUp, resume?: Checkpoint): Promise<RunParts> {
  if (cfg.multiAgent) return wireMultiAgent(cfg, cfg.multiAgent, opts, cleanUp, resume);
  const module = algorithms[cfg.algorithm];
  const w = cfg.workers;
  const probe = createEnv(cfg.env.id, cfg.env.config);
  const spaces = { observationSpace: probe.observationSpace.toSpec(), actionSpace: probe.actionSpace.toSpec(), actionMask: typeof probe.actionMask === 'function' };
  probe.close();
  if (spaces.actionMask && !module.actionMasks) {
    throw new ConfigError(`env ${cfg.env.id} gives action masks (actionMask()), and algorithm ${cfg.algorithm} does not use them: it would pick illegal actions`);
  }
  if (cfg.model.recurrent && !module.recurrent) {
    throw new ConfigError(`model.recurrent is set, and algorithm ${cfg.algorithm} has no recurrent policies: remove model.recurrent or use an algorithm that has them`);
  }
  const algorithm = cleanUp.add(
    module.create({ config: cfg[cfg.algorithm], model: cfg.model, ...spaces, seed: cfg.seed, totalEnvs: totalEnvs(w), numWorkers: w.numWorkers, rolloutLength: w.rolloutLength, totalEnvSteps: cfg.stop.envSteps }),
    (a) => a.dispose(),
  );
  // A single-agent env is played by the policy `default`.
  const policies = algorithm.policySpecs();
  const spec = policies[DEFAULT_POLICY];
  if (!spec) throw new TypeError(`algorithm ${cfg.algorithm}: policySpecs() has no policy '${DEFAULT_POLICY}' for a single-agent env`);
  const expectation = batchExpectation(policies);
  const schedule = algorithm.schedule;
  const sampler: Sampler = cleanUp.add(
    w.numWorkers > 0 || opts.bind
      ? await startWorkerPool(cfg, opts, policies, schedule)
      : new LocalSampler(
          new RolloutWorker({ workerId: 0, envId: cfg.env.id, envConfig: cfg.env.config, numEnvs: w.envsPerWorker, rolloutLength: w.rolloutLength, seed: cfg.seed, policy: policyOn(w.inference, await inferenceEngine(w.inference, opts.log), spec, { slot: 0, numSlots: 1 }, (sp, ctx) => module.createPolicy(sp, ctx), opts.log), spec }),
          expectation,
        ),
    (s) => s.close(),
  );
  const evalPolicy: SamplingPolicy | undefined = cfg.evaluation.every > 0 ? cleanUp.add(module.createPolicy(spec), (p) => p.dispose()) : undefined;

  const run = await openRun(cfg, opts, cleanUp, { algorithm, sampler }, resume);

  const evaluate = async (iteration: number, params: () => ParamsById): Promise<Record<string, number> | undefined> => {
    if (!evalPolicy || iteration % cfg.evaluation.every !== 0) return undefined;
    evalPolicy.setParams(params()[spec.policyId]);
    const seeds = seedStreams(cfg.seed).evaluation(iteration);
    const e = evaluatePolicy({ policy: evalPolicy, spec, envId: cfg.env.id, envConfig: cfg.env.config, episodes: cfg.evaluation.episodes, seeds, deterministic: cfg.evaluation.deterministic });
    if (cfg.evaluation.video) await writeEvaluationVideo(evalPolicy, spec, cfg, run.runDir, iteration, seeds);
    return evaluationRecord(e);
  };
  const metrics = [...loopMetrics, ...episodeMetrics, ...samplerMetrics, ...(schedule.mode === 'queue' ? queueMetrics : []), ...algorithm.metrics, ...evaluationMetrics];
  return { algorithm, sampler, run, metrics, evaluate };
}

/**
 * The worker pool of a run (`workers.numWorkers` spawned, and remote ones with `--bind`):
 * the setup every worker gets (a multi-agent run's `multiAgent` part with it), the env code for
 * remote workers, and the pool's options from the config and the algorithm's schedule.
 */
export async function startWorkerPool(
  cfg: RunConfig,
  opts: WiringOptions,
  policies: WorkerSetup['policies'],
  schedule: Algorithm['schedule'],
  multiAgent?: Pick<WorkerPoolOptions, 'draw' | 'onGames'> & { setup: MultiAgentSetup },
): Promise<WorkerPool> {
  const w = cfg.workers;
  return WorkerPool.start({
    setup: { policies, envId: cfg.env.id, envConfig: cfg.env.config, numEnvs: w.envsPerWorker, rolloutLength: w.rolloutLength, seed: cfg.seed, heartbeatSeconds: w.heartbeatSeconds, learnerDir: process.cwd(), ...(multiAgent ? { multiAgent: multiAgent.setup } : {}) },
    code: await shippedCode(cfg.env.id, opts),
    numWorkers: w.numWorkers,
    bind: opts.bind,
    curve: opts.curve,
    maxPolicyLag: schedule.mode === 'async' ? 0 : schedule.maxPolicyLag,
    streaming: schedule.mode !== 'sync',
    queueSize: schedule.mode === 'queue' ? schedule.queueSize : undefined,
    decodeThreads: w.decodeThreads,
    workerTimeoutSeconds: w.workerTimeoutSeconds,
    maxWorkerRestarts: w.maxWorkerRestarts,
    heartbeatSeconds: w.heartbeatSeconds,
    inference: w.inference,
    signal: opts.signal,
    log: opts.log,
    draw: multiAgent?.draw,
    onGames: multiAgent?.onGames,
  });
}

/**
 * The run's dir (locked for it: refused if another live run holds it) and its state, resumed
 * from `resume` if given; the config written to the dir.
 */
export async function openRun(cfg: RunConfig, opts: WiringOptions, cleanUp: CleanUp, parts: { algorithm: Algorithm; sampler: Sampler }, resume?: Checkpoint): Promise<RunState> {
  const runDir = opts.runDir ?? (resume ? path.dirname(path.dirname(resume.dir)) : newRunDir(cfg.name ?? cfg.algorithm));
  cleanUp.add(acquireRunDir(runDir, { resume: resume?.dir, replaceLeftovers: opts.replaceLeftovers }), (release) => release());
  const run = new RunState(cfg, runDir, parts.algorithm, parts.sampler);
  if (resume) {
    await run.resume(resume);
    opts.log(`resuming ${resume.dir}: iteration ${run.counters.iteration}, ${run.counters.envSteps.toLocaleString('en-US')} env steps`);
  }
  fs.writeFileSync(path.join(runDir, 'config.yaml'), configToYaml(cfg));
  return run;
}
