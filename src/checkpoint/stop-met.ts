import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Checkpoint } from './format';
import type { StopConfig } from '../config/schema';
import { EpisodeWindow, stopReason } from '../metrics';
import type { Counters } from '../runtime/run-state';

/**
 * Why the run of `ckpt` has nothing left to train under `stop`, or undefined: its stop rule is
 * met by the state the checkpoint holds, as the learner checked it after that iteration
 * (counters, the episode window, and that iteration's evaluation from the run's progress.jsonl).
 * A finished run restarted by a supervisor exits at once instead of training one more iteration
 * per restart; `--set stop.iterations=...` past it goes on training.
 */
export function stopMetAt(ckpt: Checkpoint, stop: StopConfig): string | undefined {
  const rt = ckpt.runtime as Partial<Counters> & { episodes?: ReturnType<EpisodeWindow['getState']> };
  if (typeof rt.iteration !== 'number' || typeof rt.envSteps !== 'number' || typeof rt.wallSeconds !== 'number') return undefined;
  const episodes = new EpisodeWindow(100);
  if (rt.episodes) episodes.setState(rt.episodes);
  const e = evaluationsUpTo(path.dirname(path.dirname(ckpt.dir)), rt.iteration);
  // The learner checked the evaluation rule only after an iteration that evaluated.
  const evaluated = e.latest?.iteration === rt.iteration ? { evalReturnMean: e.latest.mean, previousEvalReturnMean: e.previous } : {};
  return stopReason(stop, { iteration: rt.iteration, envSteps: rt.envSteps, wallSeconds: rt.wallSeconds, episodeReturnMean: episodes.returnMean, ...evaluated });
}

/**
 * The last evaluation at or before `iteration` in the run's progress.jsonl, and the mean of
 * the one before it: the state of a stop on evaluation (two in a row) after that iteration.
 */
export function evaluationsUpTo(runDir: string, iteration: number): { latest?: { iteration: number; mean: number }; previous?: number } {
  const file = path.join(runDir, 'progress.jsonl');
  if (!fs.existsSync(file)) return {};
  const means: { iteration: number; mean: number }[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    try {
      const r = JSON.parse(line);
      if (typeof r?.iteration === 'number' && r.iteration <= iteration && typeof r.evalReturnMean === 'number') means.push({ iteration: r.iteration, mean: r.evalReturnMean });
    } catch {
      // an empty line, or one cut short by a crash
    }
  }
  return { latest: means.at(-1), previous: means.at(-2)?.mean };
}
