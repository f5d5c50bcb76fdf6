import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RlError } from '../core/errors';
import { listCheckpoints } from './checkpoint';

/** `runs/<name>-<YYYYMMDD-HHMMSS>`, with a suffix if that exists already. */
export function newRunDir(name: string, root = 'runs', now = new Date()): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p2(now.getMonth() + 1)}${p2(now.getDate())}-${p2(now.getHours())}${p2(now.getMinutes())}${p2(now.getSeconds())}`;
  let dir = path.join(root, `${name}-${stamp}`);
  for (let i = 2; fs.existsSync(dir); i++) dir = path.join(root, `${name}-${stamp}-${i}`);
  return dir;
}

/** Appends one JSON object per line; each line is written whole, so a reader never sees half a record. */
export class JsonlWriter {
  private readonly fd: number;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'a');
  }

  write(record: Record<string, unknown>): void {
    try {
      fs.writeSync(this.fd, `${JSON.stringify(record)}\n`); // NaN and Infinity become null
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new RlError(`${this.file}: cannot append the iteration's record (${e.code === 'ENOSPC' ? 'no space left on the device, ENOSPC' : (e.code ?? e.message)})`);
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Drops the records after `iteration` (a run resumed from an earlier checkpoint goes on from there). */
export function truncateProgress(file: string, iteration: number): void {
  if (!fs.existsSync(file)) return;
  const kept = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => {
      if (line.trim() === '') return false;
      try {
        return JSON.parse(line).iteration <= iteration;
      } catch {
        return false; // a line cut short by a crash
      }
    });
  // Written aside and renamed over: a kill mid-write leaves the old file whole, never half of it.
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, kept.map((l) => `${l}\n`).join(''));
  fs.renameSync(tmp, file);
}

/** The file that marks a run dir as taken by a live `rl train`: `{ pid, host, startedAt }`. */
export const LOCK_FILE = '.rl-lock';

/** What a run dir holds once a run has written to it. */
const RUN_FILES = ['config.yaml', 'progress.jsonl', 'checkpoints'];

/** The locks this process holds (a lock naming this pid but not among them is a dead process's: a restarted container's pid 1, say). */
const heldHere = new Set<string>();

export interface RunDirOptions {
  /** The checkpoint the run resumes from: a dir that holds its run is taken. */
  resume?: string;
  /**
   * A fresh start of `rl train --resume auto`: a dir holding no checkpoint (checkpoints/iter_*)
   * may hold the files of an attempt that died before its first one; they are replaced
   * (progress.jsonl emptied, TensorBoard events files removed), since no checkpoint covers them.
   */
  replaceLeftovers?: boolean;
}

/**
 * Takes `dir` for one run, creating it: refuses a dir that a live process holds (its
 * `.rl-lock` names a running pid on this host; a lock of a dead pid is stale and taken over),
 * and, unless `resume` names a checkpoint of this dir (or `replaceLeftovers` finds no checkpoint
 * there), a dir that holds another run's files already (two runs would mix their checkpoints,
 * config.yaml and progress.jsonl).
 * Returns the release function (safe to call twice; also run at process exit).
 */
export function acquireRunDir(dir: string, opts: RunDirOptions = {}): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, LOCK_FILE);
  const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() });
  for (let attempt = 0; ; attempt++) {
    // Written whole to a private name, then linked into place: the link fails if a lock exists,
    // and a reader never sees half a lock.
    const tmp = path.join(dir, `${LOCK_FILE}.${process.pid}.${attempt}`);
    fs.writeFileSync(tmp, mine);
    try {
      fs.linkSync(tmp, lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw runDirError(dir, err);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    const busy = inUse(dir);
    if (busy) throw new RlError(busy);
    fs.rmSync(lock, { force: true }); // stale: its process is gone
  }
  heldHere.add(path.resolve(lock));
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    heldHere.delete(path.resolve(lock));
    if (readLock(lock)?.pid === process.pid) fs.rmSync(lock, { force: true });
  };
  process.on('exit', release);
  const problem = otherRun(dir, opts);
  if (problem) {
    release();
    throw new RlError(problem);
  }
  if (opts.replaceLeftovers && opts.resume === undefined) replaceLeftovers(dir);
  return release;
}

/**
 * Why `dir` cannot take a new run (or the resumed run of `resume`), or undefined: it holds
 * another run's files. Checked by `acquireRunDir`, and by the CLI before anything starts.
 */
export function runDirProblem(dir: string, opts: RunDirOptions = {}): string | undefined {
  return inUse(dir) ?? otherRun(dir, opts);
}

function otherRun(dir: string, opts: RunDirOptions): string | undefined {
  const resumedHere = opts.resume !== undefined && isInside(opts.resume, path.join(dir, 'checkpoints'));
  const leftovers = opts.replaceLeftovers && opts.resume === undefined && listCheckpoints(dir).length === 0;
  const found = RUN_FILES.filter((f) => fs.existsSync(path.join(dir, f)));
  if (found.length === 0 || resumedHere || leftovers) return undefined;
  return `${dir}: holds another run already (${found.join(', ')}); continue it with --resume ${dir}, or give a new --run-dir`;
}

/** What an attempt that died before its first checkpoint wrote: records no checkpoint covers. */
function replaceLeftovers(dir: string): void {
  const progress = path.join(dir, 'progress.jsonl');
  if (fs.existsSync(progress)) fs.writeFileSync(progress, '');
  for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('events.out.tfevents.'))) fs.rmSync(path.join(dir, f), { force: true });
}

/** Why `dir` is taken by a live process (its lock names a running pid), or undefined. */
export function inUse(dir: string): string | undefined {
  const lock = path.join(dir, LOCK_FILE);
  const holder = readLock(lock);
  if (!holder || !isAlive(holder, lock)) return undefined;
  return (
    `${dir}: in use by another run (pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}); ` +
    `wait for it to end, or give another --run-dir (a lock left by a crash on another host: delete ${lock})`
  );
}

function readLock(file: string): { pid: number; host: string; startedAt: string } | undefined {
  try {
    const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
    return Number.isInteger(lock?.pid) ? lock : undefined;
  } catch {
    return undefined; // gone meanwhile, or not a lock of ours: treated as stale
  }
}

/** A lock of another host cannot be checked from here: it counts as held. */
function isAlive(lock: { pid: number; host: string }, file: string): boolean {
  if (lock.host !== os.hostname()) return true;
  if (lock.pid === process.pid) return heldHere.has(path.resolve(file)); // ours, or a dead process's that had our pid
  try {
    process.kill(lock.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

function isInside(p: string, dir: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(p));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function runDirError(dir: string, err: unknown): RlError {
  const e = err as NodeJS.ErrnoException;
  return new RlError(`${dir}: cannot take the run dir (${e.code ?? e.message})`);
}
