import type { StopConfig } from '../config/schema';
import { autoResume } from './auto-resume';
import { resolveCheckpoint } from './catalog';
import { loadCheckpoint, type Checkpoint } from './format';
import { stopMetAt } from './stop-met';

/**
 * Resuming a run, in the two questions `rl train --resume` asks, in this order:
 *
 * 1. What do I resume from? `resumeFrom`: the checkpoint folder `--resume` names (a checkpoint,
 *    or a run dir: its newest periodic one, never best/), or for `auto` the newest intact one of
 *    `--run-dir`, or none there (a fresh start). The config of a run resumed without --config
 *    comes from it.
 * 2. Is the run finished? `openResume`: the checkpoint, read through the one load path (format.ts,
 *    migrated to this version's format), and the stop rule it already meets, if any (a finished
 *    run restarted by a supervisor trains nothing).
 */
export function resumeFrom(resume: string, runDir: string | undefined, log: (line: string) => void): string | undefined {
  if (resume !== 'auto') return resolveCheckpoint(resume);
  return autoResume(runDir!, log);
}

/** The checkpoint at `dir` for a run of `cfg` (its algorithm, checked), and why that run is finished already, or undefined. */
export function openResume(dir: string, cfg: { algorithm: string; stop: StopConfig }): { checkpoint: Checkpoint; finished: string | undefined } {
  const checkpoint = loadCheckpoint(dir, { algorithm: cfg.algorithm });
  return { checkpoint, finished: stopMetAt(checkpoint, cfg.stop) };
}
