import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from '../../core/errors';
import { BEST, BEST_ASIDE } from './catalog';
import { discard, fsyncDir, readMetadata, writeCheckpointFolder, writeProblem, type BestEvaluation, type Checkpoint } from './format';

/**
 * `checkpoints/best/` (checkpoint.best): the policy of the best evaluation during training so
 * far, a whole checkpoint whose metadata also holds that `evaluation`. Replacing it never
 * leaves a run without a best, whenever the process is killed:
 *   1. the new best is written complete into `.tmp-best-PID/` (a kill: the old best stays; the
 *      folder is removed by the next save),
 *   2. the old best is renamed to `.best-previous/` (a kill: readers take `.best-previous/`,
 *      `recoverBest` renames it back),
 *   3. the new one is renamed to `best/`, then `.best-previous/` is deleted (a kill: `best/` is
 *      the new one; what is left of `.best-previous/` is deleted by the next `recoverBest`).
 * `listCheckpoints` and pruning (`checkpoint.keep`) never see it.
 */
export function saveBest(runDir: string, ckpt: Omit<Checkpoint, 'dir'>): string {
  const root = path.join(runDir, 'checkpoints');
  const best = path.join(root, BEST);
  const aside = path.join(root, BEST_ASIDE);
  const tmp = path.join(root, `.tmp-${BEST}-${process.pid}`);
  try {
    recoverBest(runDir);
    writeCheckpointFolder(tmp, ckpt);
    if (fs.existsSync(best)) fs.renameSync(best, aside);
    fs.renameSync(tmp, best);
    fsyncDir(root);
    fs.rmSync(aside, { recursive: true, force: true });
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    try {
      recoverBest(runDir);
    } catch {
      // the error below says what went wrong first
    }
    throw new CheckpointError(`${best}: cannot write the best checkpoint, ${writeProblem(err)}; the previous best is kept`);
  }
  return best;
}

/**
 * Puts the state a kill may have left in the middle of `saveBest` right: a complete `best/`
 * wins and what is left of `.best-previous/` goes; without one, `.best-previous/` (complete:
 * it was renamed whole) becomes `best/` again.
 */
export function recoverBest(runDir: string): void {
  const root = path.join(runDir, 'checkpoints');
  const best = path.join(root, BEST);
  const aside = path.join(root, BEST_ASIDE);
  if (!fs.existsSync(aside)) return;
  if (fs.existsSync(path.join(best, 'metadata.json'))) {
    fs.rmSync(aside, { recursive: true, force: true });
    return;
  }
  if (!fs.existsSync(path.join(aside, 'metadata.json'))) return; // neither is whole: nothing to restore
  if (fs.existsSync(best)) discard(root, best);
  fs.renameSync(aside, best);
  fsyncDir(root);
}

/**
 * On resuming at `iteration`: the best evaluation so far, from the run's best checkpoint.
 * A best from an abandoned branch (an iteration past the resumed one, as after resuming from an
 * earlier checkpoint) is deleted, like the checkpoints and progress records past it: the run's
 * history no longer holds it. A best whose metadata cannot be read, or holds no evaluation,
 * counts as none (kept until the next evaluation replaces it).
 */
export function bestOnResume(runDir: string, iteration: number): BestEvaluation | undefined {
  recoverBest(runDir);
  const root = path.join(runDir, 'checkpoints');
  const best = path.join(root, BEST);
  if (!fs.existsSync(best)) return undefined;
  let evaluation;
  try {
    evaluation = readMetadata(best).evaluation;
  } catch (err) {
    if (err instanceof CheckpointError) return undefined;
    throw err;
  }
  if (evaluation === undefined) return undefined;
  if (evaluation.iteration > iteration) {
    discard(root, best);
    return undefined;
  }
  return evaluation;
}
