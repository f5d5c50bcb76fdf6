import { selectBackend } from '../backend';
import * as path from 'node:path';
import { bestCheckpoint, describeBest, evaluationsUpTo, openResume, type Checkpoint } from '../checkpoint';
import { validateConfig } from '../config/load';
import type { RunConfig } from '../config/schema';
import { stopReason } from '../metrics';
import type { KeyPair } from '../transport/curve';
import { broadcast, driverFor } from './drivers';
import { IterationLog, UpdateMetrics, iterationRecord, memoryFigures, metricIndex } from './iteration-record';
import { CleanUp } from './clean-up';
import { Interrupted } from './sampler';
import { wireRun } from './wiring';

/** How `train` runs, beside the config: where, from which checkpoint, with what output and which remote workers. */
export interface TrainOptions {
  /** Where the run's files go; default runs/<name>-<timestamp> (a resumed run: its own dir). */
  runDir?: string;
  /** A checkpoint to continue from (see `rl train --resume`). */
  resume?: string;
  /** A fresh start of `--resume auto`: a run dir without checkpoints may hold a dead attempt's files, replaced (see `acquireRunDir`). */
  replaceLeftovers?: boolean;
  /** Console output; default console.log. Pass () => {} for none. */
  log?: (line: string) => void;
  /**
   * Aborting it ends the run after the current iteration, with a checkpoint (Ctrl-C, SIGTERM in
   * the CLI); with workers, an iteration that waits for batches that do not come is given up
   * (see `WorkerPoolOptions.signal`), and what was trained before it is checkpointed.
   */
  signal?: AbortSignal;
  /** Listen for remote workers here too (`--bind tcp://0.0.0.0:5555`). */
  bind?: string;
  /** CURVE for worker traffic: the learner's key pair and the allowed worker public keys. */
  curve?: {
    /** The learner's own CURVE keys. */
    pair: KeyPair;
    /** The public keys (Z85) of the workers allowed to connect. */
    allowed: Set<string>;
  };
}

/** How a run ended, as `train` resolves. */
export interface TrainResult {
  /** The run's folder (config.yaml, progress.jsonl, checkpoints/). */
  runDir: string;
  /** Which `stop:` condition ended it (`envSteps 100000 >= 100000`), or `interrupted`. */
  stopReason: string;
  /** Training iterations done. */
  iterations: number;
  /** Env steps sampled. */
  envSteps: number;
  /** Seconds from start to end. */
  wallSeconds: number;
  /** Episodes finished while sampling. */
  episodes: number;
  /** Mean return of the last 100 episodes. */
  episodeReturnMean: number;
  /** The last checkpoint written (an interrupted run that trained nothing: the one it resumed, or empty). */
  checkpoint: string;
  /** The best-evaluated checkpoint (checkpoint.best), once one was written. */
  best?: string;
  /** The last iteration's record, as in progress.jsonl. */
  metrics: Record<string, number>;
}

/**
 * Trains until a `stop:` condition is reached, in the three phases of an iteration (sample,
 * update, broadcast: `driverFor` runs them as the algorithm's schedule says), then the
 * iteration's record, evaluation and checkpoints. The wiring is `wireRun`; everything it
 * starts is released on the one way out, after a checkpoint if the run failed in a sound state.
 */
export async function train(config: RunConfig | Record<string, unknown>, opts: TrainOptions = {}): Promise<TrainResult> {
  const cfg = validateConfig(config as Record<string, unknown>);
  const log = opts.log ?? ((line: string) => console.log(line));
  const opened = opts.resume ? openResume(opts.resume, { algorithm: cfg.algorithm, stop: cfg.stop }) : undefined;
  const resume = opened?.checkpoint;
  if (opened?.finished) return finishedAlready(opened.checkpoint, opened.finished, opts.runDir, log);
  const { backend, tried } = await selectBackend(cfg.backend);
  log(`tfjs backend: ${backend}${tried.length > 0 ? ` (not available: ${tried.join('; ')})` : ''}`);
  const cleanUp = new CleanUp();
  let parts: Awaited<ReturnType<typeof wireRun>> | undefined;
  try {
    parts = await wireRun(cfg, { ...opts, log }, cleanUp, resume);
    const { algorithm, run, evaluate } = parts;
    const c = run.counters;
    // Resumed: TensorBoard drops what an earlier attempt logged past the checkpoint (no step is charted twice).
    const records = cleanUp.add(new IterationLog(run.runDir, parts.metrics, cfg.stop, log, resume ? c.envSteps + 1 : undefined), (r) => r.close());
    const specs = metricIndex(algorithm.metrics);
    const iterate = driverFor({ ...parts, newMetrics: () => new UpdateMetrics(specs, cfg.algorithm) });
    const s = algorithm.schedule;
    log(`training ${cfg.algorithm} on ${cfg.env.id}: ${s.mode === 'sync' ? s.trainBatchSize : s.stepsPerIteration} steps per iteration, run dir ${run.runDir}`);
    const start = performance.now() - c.wallSeconds * 1000;
    let reason: string | undefined;
    let last: Record<string, number> = {};
    // The latest evaluation and the one before it (a stop on evaluation needs two in a row), resumed from progress.jsonl.
    const resumed = resume ? evaluationsUpTo(run.runDir, c.iteration) : {};
    let evalReturnMean = resumed.latest?.mean;
    let previousEvalReturnMean = resumed.previous;
    await broadcast(parts, { initial: true });
    while (reason === undefined) {
      let work;
      try {
        work = await iterate();
      } catch (err) {
        if (!(err instanceof Interrupted)) throw err;
        log(err.message);
        reason = 'interrupted';
        break;
      }
      c.iteration += 1;
      const evaluation = (await evaluate(c.iteration, () => algorithm.getParams())) ?? {};
      if (evaluation.evalReturnMean !== undefined) [previousEvalReturnMean, evalReturnMean] = [evalReturnMean, evaluation.evalReturnMean];
      c.wallSeconds = (performance.now() - start) / 1000;
      const record = iterationRecord({ counters: c, work, episodes: run.episodes.metrics(), sampler: parts.sampler.stats(), evaluation, memory: memoryFigures() });
      records.write((last = record));
      if (evaluation.evalReturnMean !== undefined) await run.keepIfBest({ mean: evaluation.evalReturnMean, std: evaluation.evalReturnStd, episodes: cfg.evaluation.episodes });
      // Let signals (Ctrl-C) and I/O in: every await above may have resolved without yielding.
      await new Promise((resolve) => setImmediate(resolve));
      const evaluated = evaluation.evalReturnMean !== undefined ? { evalReturnMean, previousEvalReturnMean } : {};
      reason = stopReason(cfg.stop, { ...c, episodeReturnMean: record.episodeReturnMean, ...evaluated }) ?? (opts.signal?.aborted ? 'interrupted' : undefined);
      if (reason === undefined && run.checkpointDue()) await run.checkpoint();
    }
    if (reason !== 'interrupted' || run.unsaved()) await run.checkpoint();
    else log(`nothing trained since ${run.lastCheckpoint || resume?.dir || 'the start'}: no checkpoint to write`);
    const ep = run.episodes;
    log(
      `done: ${reason}. ${c.iteration} iterations, ${c.envSteps.toLocaleString('en-US')} env steps, ${ep.total} episodes in ${c.wallSeconds.toFixed(1)} s; ` +
        `episode return mean ${ep.returnMean.toFixed(1)}${evalReturnMean !== undefined ? `, last evaluation ${evalReturnMean.toFixed(1)}` : ''}.\n` +
        `run dir: ${run.runDir}\ncheckpoint: ${run.lastCheckpoint || resume?.dir || 'none'}${run.bestCheckpoint ? `\nbest checkpoint: ${run.bestCheckpoint} (${describeBest({ iteration: c.iteration, evaluation: run.bestEvaluation })})` : ''}`,
    );
    return { runDir: run.runDir, stopReason: reason, iterations: c.iteration, envSteps: c.envSteps, wallSeconds: c.wallSeconds, episodes: ep.total, episodeReturnMean: ep.returnMean, checkpoint: run.lastCheckpoint || resume?.dir || '', best: run.bestCheckpoint, metrics: last };
  } catch (err) {
    await parts?.run.checkpointAfter(err, log);
    throw err;
  } finally {
    await cleanUp.close();
  }
}

/** The result of resuming a run whose stop rule its checkpoint already meets: nothing is trained, nothing written. */
function finishedAlready(ckpt: Checkpoint, reason: string, runDir: string | undefined, log: (line: string) => void): TrainResult {
  const m = ckpt.metadata;
  log(`${ckpt.dir}: the run is finished (${reason}); nothing to train (raise the stop rule with --set stop.<key>=... to go on)`);
  const episodes = (ckpt.runtime.episodes as { total?: number } | undefined)?.total ?? 0;
  return {
    runDir: runDir ?? path.dirname(path.dirname(ckpt.dir)),
    stopReason: reason,
    iterations: m.iteration,
    envSteps: m.envSteps,
    wallSeconds: m.wallSeconds,
    episodes,
    episodeReturnMean: m.episodeReturnMean ?? NaN,
    checkpoint: ckpt.dir,
    best: bestCheckpoint(runDir ?? path.dirname(path.dirname(ckpt.dir))),
    metrics: {},
  };
}
