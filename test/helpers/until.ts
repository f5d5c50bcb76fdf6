/** How `until` waits: the time limit, and what to add to the failure (processes' output) or to stop on at once. */
export interface UntilOptions {
  /** The time limit in ms (10 s). */
  ms?: number;
  /** The poll interval in ms (50). */
  every?: number;
  /** Appended to the failure, e.g. the output of the processes a test started. */
  context?: () => string;
  /** A reason to fail at once instead of waiting on (a process that should run has stopped), or undefined. */
  stop?: () => string | undefined;
}

/**
 * Polls `check` until it returns something other than undefined or false, and returns that; fails with
 * `what` past `opts.ms`, or at once when `opts.stop` gives a reason.
 */
export async function until<T>(what: string, check: () => T | undefined | false, opts: UntilOptions = {}): Promise<T> {
  const { ms = 10_000, every = 50 } = opts;
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    const context = () => (opts.context ? `; ${opts.context()}` : '');
    const stopped = opts.stop?.();
    if (stopped !== undefined) throw new Error(`${stopped} while waiting for ${what}${context()}`);
    if (Date.now() > end) throw new Error(`waited ${ms / 1000} s for ${what}${context()}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
