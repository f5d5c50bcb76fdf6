import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Algorithm, NamedTensor } from '../../core/algorithm';
import { CheckpointError, TrainingError } from '../../core/errors';
import { checkTensorsFit } from '../checkpoint/fit';
import { bestOnResume, CHECKPOINT_FORMAT, checkpointDue, dropCheckpointsAfter, saveBest, saveCheckpoint, type BestEvaluation, type Checkpoint } from '../checkpoint';
import type { RunConfig } from '../config/schema';
import { EpisodeWindow } from '../metrics';
import { truncateProgress } from '../run-dir';
import { PACKAGE_VERSION } from '../version';
import type { WorkerState } from './rollout-worker';
import type { Sampler } from './sampler';

/** A run's counters. `iteration` counts finished iterations: the one under way is `iteration + 1`. */
export interface Counters {
  iteration: number;
  envSteps: number;
  wallSeconds: number;
  policyVersion: number;
}

/** What a checkpoint's `runtime` part holds. */
interface RuntimeState extends Counters {
  episodes: ReturnType<EpisodeWindow['getState']>;
  workers: WorkerState[];
}

/** Throws a TrainingError naming the iteration and the first non-finite value of `tensors`. */
export function assertFinite(tensors: NamedTensor[], iteration: number, what: string): void {
  for (const t of tensors) {
    const i = t.data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) {
      throw new TrainingError(`iteration ${iteration}: ${what}: ${t.name}[${i}] is ${t.data[i]}; the update diverged, so the run stops (lower the learning rate, or clip gradients harder)`);
    }
  }
}

/**
 * The state of a run that a checkpoint holds besides the algorithm's own: counters, the
 * episode window and the workers' state. It resumes from a checkpoint and writes them; it
 * never writes non-finite weights, and after a fatal error writes one only while the state is
 * still sound (no update was cut short).
 */
export class RunState {
  counters: Counters = { iteration: 0, envSteps: 0, wallSeconds: 0, policyVersion: 0 };
  readonly episodes = new EpisodeWindow(100);
  /** False while an update runs: an error thrown then may leave it half applied. */
  sound = true;
  lastCheckpoint = '';
  /** The best evaluation so far, the one `checkpoints/best/` holds (checkpoint.best); undefined before the first. */
  bestEvaluation: BestEvaluation | undefined;
  /** `checkpoints/best/` once this run (or the run it resumed) has written it. */
  bestCheckpoint: string | undefined;
  /** When the last checkpoint was written, and of what (a fresh run: the empty start, never worth one). */
  private savedAt = { time: performance.now(), envSteps: 0, iteration: 0 };

  constructor(
    private readonly cfg: RunConfig,
    readonly runDir: string,
    private readonly algorithm: Algorithm,
    private readonly sampler: Sampler,
  ) {}

  /** Takes up `ckpt`; progress.jsonl, checkpoints and a best checkpoint past it belong to an abandoned branch and go. */
  async resume(ckpt: Checkpoint): Promise<void> {
    const rt = ckpt.runtime as unknown as RuntimeState;
    checkTensorsFit(ckpt.dir, this.cfg.algorithm, (await this.algorithm.getState()).tensors, ckpt.algorithm.tensors);
    await this.algorithm.setState(ckpt.algorithm);
    try {
      this.sampler.setState(rt.workers);
    } catch (e) {
      // The env's code changed since the checkpoint (a wrapper added, a field renamed): its saved
      // episodes in progress no longer fit, and what they hold cannot be guessed.
      throw new CheckpointError(`${ckpt.dir}: the env state saved in it does not load into ${this.cfg.env.id} (${(e as Error).message}); the env changed since it was saved: resume with the env code that wrote it, or start a new run`);
    }
    this.episodes.setState(rt.episodes);
    this.counters = { iteration: rt.iteration, envSteps: rt.envSteps, wallSeconds: rt.wallSeconds, policyVersion: rt.policyVersion };
    this.savedAt = { ...this.savedAt, envSteps: rt.envSteps, iteration: rt.iteration };
    truncateProgress(path.join(this.runDir, 'progress.jsonl'), rt.iteration);
    dropCheckpointsAfter(this.runDir, rt.iteration);
    this.bestEvaluation = bestOnResume(this.runDir, rt.iteration);
    if (this.bestEvaluation !== undefined) this.bestCheckpoint = path.join(this.runDir, 'checkpoints', 'best');
  }

  /** Whether anything was trained since the last checkpoint (or the start, or the checkpoint resumed). */
  unsaved(): boolean {
    return this.counters.envSteps !== this.savedAt.envSteps || this.counters.iteration !== this.savedAt.iteration;
  }

  /** After a finished iteration. */
  checkpointDue(): boolean {
    return checkpointDue(this.cfg.checkpoint, { iteration: this.counters.iteration, secondsSinceCheckpoint: (performance.now() - this.savedAt.time) / 1000 });
  }

  /** Writes a checkpoint of the finished iterations; refuses non-finite state with a TrainingError. */
  async checkpoint(opts: { fresh?: boolean } = {}): Promise<string> {
    const c = this.counters;
    this.lastCheckpoint = saveCheckpoint(this.runDir, await this.snapshot(opts), this.cfg.checkpoint.keep);
    this.savedAt = { time: performance.now(), envSteps: c.envSteps, iteration: c.iteration };
    return this.lastCheckpoint;
  }

  /**
   * After an evaluation of the finished iterations (with checkpoint.best): if its mean beats
   * the best so far, the state is saved as `checkpoints/best/`, the evaluation in its metadata.
   * Returns that folder when it wrote one.
   */
  async keepIfBest(e: { mean: number; std: number; episodes: number }): Promise<string | undefined> {
    if (this.cfg.checkpoint.best !== true || !(e.mean > (this.bestEvaluation?.mean ?? -Infinity))) return undefined;
    // The newest checkpoint first, so that a best is never ahead of it: a run resumed from an
    // older one drops a best of iterations past it (another branch), and would lose this one.
    await this.checkpoint();
    const s = await this.snapshot();
    const evaluation = { ...e, iteration: this.counters.iteration };
    this.bestCheckpoint = saveBest(this.runDir, { ...s, metadata: { ...s.metadata, evaluation } });
    this.bestEvaluation = evaluation;
    return this.bestCheckpoint;
  }

  /** What a checkpoint of the finished iterations holds; refuses non-finite state with a TrainingError. */
  private async snapshot(opts: { fresh?: boolean } = {}): Promise<Omit<Checkpoint, 'dir'>> {
    const c = this.counters;
    const algorithm = await this.algorithm.getState();
    assertFinite(algorithm.tensors, c.iteration, 'the state to checkpoint');
    const runtime: RuntimeState = { ...c, episodes: this.episodes.getState(), workers: opts.fresh ? [] : this.sampler.getState() };
    const ep = this.episodes.returnMean;
    const metadata = {
      formatVersion: CHECKPOINT_FORMAT,
      packageVersion: PACKAGE_VERSION,
      algorithm: this.cfg.algorithm,
      envId: this.cfg.env.id,
      iteration: c.iteration,
      envSteps: c.envSteps,
      wallSeconds: c.wallSeconds,
      time: new Date().toISOString(),
      episodeReturnMean: Number.isNaN(ep) ? null : ep,
      config: this.cfg,
      spaces: ((spec) => ({ observationSpace: spec.observationSpace, actionSpace: spec.actionSpace, actionMask: spec.actionMask }))(Object.values(this.algorithm.policySpecs())[0]),
    };
    return { metadata, algorithm, runtime: { ...runtime } };
  }

  /**
   * On a fatal error: a checkpoint of the state as it stands, if it is sound (not inside an
   * update, not diverged, not a failed checkpoint) and holds something the last one does not.
   * Workers' env states are left out (an env may have thrown mid-step): a resumed run re-seeds them.
   */
  async checkpointAfter(err: unknown, log: (line: string) => void): Promise<void> {
    const c = this.counters;
    if (!this.sound || err instanceof TrainingError || err instanceof CheckpointError || !fs.existsSync(this.runDir)) return;
    if (!this.unsaved()) return;
    try {
      log(`stopping on an error; checkpoint of iteration ${c.iteration} (${c.envSteps.toLocaleString('en-US')} env steps): ${await this.checkpoint({ fresh: true })}`);
    } catch (e) {
      log(`stopping on an error; no checkpoint could be written (${e instanceof Error ? e.message : String(e)})`);
    }
  }
}
