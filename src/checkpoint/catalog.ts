import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from '../../core/errors';
import { discard, listCheckpoints, readMetadata, type CheckpointMetadata } from './format';

/**
 * The catalog of a run's checkpoints: its periodic ones (`listCheckpoints`, in format.ts: the
 * folder names are part of the layout), its best, and which one a command takes.
 */

/** Drops the periodic checkpoints after `iteration` (a run resumed from an earlier one abandons them). */
export function dropCheckpointsAfter(runDir: string, iteration: number): void {
  for (const dir of listCheckpoints(runDir)) {
    if (Number(path.basename(dir).slice('iter_'.length)) > iteration) discard(path.dirname(dir), dir);
  }
}

/** The best checkpoint's folder name in `checkpoints/`, and where the previous best waits while it is replaced. */
export const BEST = 'best';
export const BEST_ASIDE = '.best-previous';

/**
 * A run's best checkpoint (checkpoint.best), or undefined: `best/`, or, while it is being
 * replaced (or after a kill in the middle of that), the previous best set aside; `best/` is
 * looked at again last in case the replacement finished between the two looks. Reads only:
 * the learner puts a set-aside best back (`recoverBest`).
 */
export function bestCheckpoint(runDir: string): string | undefined {
  const root = path.join(runDir, 'checkpoints');
  return [BEST, BEST_ASIDE, BEST].map((n) => path.join(root, n)).find((dir) => fs.existsSync(path.join(dir, 'metadata.json')));
}

/** Which checkpoint of a run dir a command takes: its best (when it has one) or its newest. */
export type CheckpointChoice = 'best' | 'latest';

/**
 * A checkpoint folder from a path that is one (taken as is), or a run dir: its best checkpoint
 * when `prefer` is 'best' and it has one, else its newest periodic one (`rl train --resume`
 * always takes the newest: the default). `say` gets one line naming what a run dir gave, where
 * it had a best to choose from (without one, the newest is taken silently, as it always was).
 */
export function resolveCheckpoint(p: string, opts: { prefer?: CheckpointChoice; say?: (line: string) => void } = {}): string {
  if (fs.existsSync(path.join(p, 'metadata.json'))) return p;
  if (!fs.existsSync(p)) throw new CheckpointError(`${p}: no such run dir or checkpoint`);
  const latest = listCheckpoints(p).at(-1);
  const best = opts.prefer === 'best' ? bestCheckpoint(p) : undefined;
  if (best) {
    let meta: CheckpointMetadata;
    try {
      meta = readMetadata(best);
    } catch (err) {
      throw new CheckpointError(`${(err as Error).message}; --latest takes the newest checkpoint instead`);
    }
    opts.say?.(`using ${path.relative(p, best)} (${describeBest(meta)}); --latest for the newest${latest ? ` (${path.basename(latest)})` : ''}`);
    return best;
  }
  if (!latest) throw new CheckpointError(`${p}: not a checkpoint, and holds no checkpoints/iter_* folder`);
  if (opts.prefer === 'latest' && bestCheckpoint(p)) opts.say?.(`using ${path.relative(p, latest)}, the newest`); // said only where there was a choice
  return latest;
}

/** `iteration 40, evaluation 487.3 ± 12.1 over 20 episodes` (a best checkpoint's metadata). */
export function describeBest(meta: Pick<CheckpointMetadata, 'iteration' | 'evaluation'>): string {
  const e = meta.evaluation;
  return e ? `iteration ${e.iteration}, evaluation ${e.mean.toFixed(1)} ± ${e.std.toFixed(1)} over ${e.episodes} episodes` : `iteration ${meta.iteration}`;
}

