import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/** The repository's root (tests run from dist/test/). */
export const root = path.resolve(__dirname, '..', '..', '..');
/** The built command line, `rl`. */
export const cli = path.join(root, 'dist', 'src', 'cli.js');

/**
 * `node [opts.node...] dist/src/cli.js ARGS`, run to its end from the repository root. Killed (SIGKILL) past
 * `opts.timeoutMs` (90 s), so that a run that should have been refused but trains, or waits for workers,
 * fails instead of holding mocha: a synchronous child blocks mocha's own timeout.
 */
export function rl(args: string[], opts: { node?: string[]; timeoutMs?: number } = {}) {
  return spawnSync(process.execPath, [...(opts.node ?? []), cli, ...args], { cwd: root, encoding: 'utf8', timeout: opts.timeoutMs ?? 90_000, killSignal: 'SIGKILL' });
}

/** The exit code of `child` once it has exited (at once if it has). */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));
}

/** The workers `startWorker` started that still run: killed when this process exits. */
const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

/** A started `rl worker`: its process, what it has written to stdout and stderr together so far, and waits on both. */
export interface StartedWorker {
  child: ChildProcess;
  out: () => string;
  /** The first match of `re` in the output, or a rejection after `ms` (20 s) showing the output. */
  waitFor: (re: RegExp, ms?: number) => Promise<string>;
  /** The exit code (null: killed by a signal), or a rejection after `ms` (20 s) showing the output. */
  exited: (ms?: number) => Promise<number | null>;
}

/** `rl worker ARGS` in the background, from `opts.cwd` (the repository root), with `opts.env` added to this process's environment, its stdout and stderr gathered. */
export function startWorker(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): StartedWorker {
  const child = spawn(process.execPath, [cli, 'worker', ...args], { cwd: opts.cwd ?? root, env: { ...process.env, ...opts.env } });
  // A worker a failed test left behind (it waits for a learner forever) neither holds this test
  // process open once its tests are done nor outlives it.
  child.unref();
  for (const pipe of [child.stdout, child.stderr]) (pipe as unknown as { unref(): void }).unref();
  started.add(child);
  child.once('exit', () => started.delete(child));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const waitFor = async (re: RegExp, ms = 20_000): Promise<string> => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const m = re.exec(out);
      if (m) return m[0];
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no ${re} within ${ms} ms in:\n${out}`);
  };
  const exited = (ms = 20_000) =>
    new Promise<number | null>((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
      const timer = setTimeout(() => reject(new Error(`the worker did not exit within ${ms} ms:\n${out}`)), ms);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  return { child, out: () => out, waitFor, exited };
}
