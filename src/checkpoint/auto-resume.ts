import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError } from '../../core/errors';
import { CHECKPOINT_FORMAT, listCheckpoints, verifyCheckpoint } from './format';

/**
 * What `rl train --resume auto --run-dir DIR` resumes from, so that one command serves the first
 * start and every restart (systemd, Kubernetes): DIR's newest intact checkpoint, or undefined for
 * a fresh start when DIR holds none (DIR missing, empty, or holding only what an attempt that
 * died before its first checkpoint left: config.yaml, progress.jsonl, a stale lock, `.tmp-*`
 * folders). A damaged checkpoint is skipped with one line to `log`, for the next older one.
 * Refused, with a CheckpointError: a checkpoint of a newer format than this version reads (a
 * newer `rl` wrote it: resuming an older one would delete it; an older format is migrated as it
 * is read), and a dir whose checkpoints are all damaged
 * (starting over there would bury a run that may be worth rescuing).
 */
export function autoResume(runDir: string, log: (line: string) => void): string | undefined {
  const all = listCheckpoints(runDir);
  const damaged: string[] = [];
  for (const dir of [...all].reverse()) {
    const format = formatOf(dir);
    if (typeof format === 'number' && format > CHECKPOINT_FORMAT) {
      throw new CheckpointError(`--resume auto: ${dir}: checkpoint format ${format}; this version reads formats up to ${CHECKPOINT_FORMAT} (run the version that wrote it)`);
    }
    try {
      verifyCheckpoint(dir);
      return dir;
    } catch (err) {
      if (!(err instanceof CheckpointError)) throw err;
      log(`--resume auto: skipping ${err.message}`);
      damaged.push(path.basename(dir));
    }
  }
  if (all.length > 0) {
    throw new CheckpointError(
      `--resume auto: ${runDir}: none of its checkpoints loads (${damaged.join(', ')} damaged); ` +
        'move its checkpoints/ folder away to start over there, or give a new --run-dir',
    );
  }
  log(`--resume auto: ${runDir} holds no checkpoint; starting a fresh run`);
  return undefined;
}

/** The formatVersion that a checkpoint's metadata.json states, if it can be read. */
function formatOf(dir: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'))?.formatVersion;
  } catch {
    return undefined; // unreadable: verifyCheckpoint says why
  }
}
