import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Checkpoint } from '../checkpoint';
import type { StopConfig } from '../config/schema';
import { EpisodeWindow, stopReason } from '../metrics';
import type { Counters } from './run-state';

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
  const [previousEvalReturnMean, evalReturnMean] = evaluationsTo(path.join(path.dirname(path.dirname(ckpt.dir)), 'progress.jsonl'), rt.iteration);
  return stopReason(stop, { iteration: rt.iteration, envSteps: rt.envSteps, wallSeconds: rt.wallSeconds, episodeReturnMean: episodes.returnMean, evalReturnMean, previousEvalReturnMean });
}

/**
 * The evaluation before the latest, and the latest, as the learner saw them after iteration
 * `iteration`: `evalReturnMean` of that iteration's record (undefined if it has none) and of
 * the last evaluated record before it (a stop on evaluation needs two in a row).
 */
function evaluationsTo(file: string, iteration: number): [number | undefined, number | undefined] {
  if (!fs.existsSync(file)) return [undefined, undefined];
  const means: [number, number][] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    try {
      const r = JSON.parse(line);
      if (typeof r?.iteration === 'number' && r.iteration <= iteration && typeof r.evalReturnMean === 'number') means.push([r.iteration, r.evalReturnMean]);
    } catch {
      // an empty line, or one cut short by a crash
    }
  }
  const latest = means.at(-1);
  if (latest?.[0] !== iteration) return [undefined, undefined];
  return [means.at(-2)?.[1], latest[1]];
}
