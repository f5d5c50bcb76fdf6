import type { Member } from './membership';

export interface LivenessOptions {
  timeoutMs: number;
  heartbeatMs: number;
  /** Failures (env errors, bad batches) a worker may send with no good batch in between. */
  failureLimit: number;
}

/** What a tick found. */
export interface TickResult {
  /** The learner's own event loop stalled past the timeout: nobody is blamed for it. */
  paused: boolean;
  /** Members to send a heartbeat. */
  ping: Member[];
  /** Members silent past the timeout. */
  silent: Member[];
  /** No live member for a whole timeout (said again each timeout). */
  lonely: boolean;
}

/** What to do about a worker's failure. */
export type FailureVerdict = { action: 'count' } | { action: 'drop'; why: string } | { action: 'stop'; why: string };

interface FailureRecord {
  failures: number;
  last: string;
}

/**
 * Who is alive and who keeps failing. Heartbeats out every `heartbeatMs`; a member silent for
 * `timeoutMs` is silent (unless the learner itself stalled that long); and failure accounting per
 * worker: a worker past `failureLimit` failures since its last good batch is dropped while some
 * other live worker is still fine, and the run stops only when every live worker keeps failing.
 * One peer's errors can drop that peer, never the run while others deliver. Pure: the caller
 * keeps the clock and acts on the answers.
 */
export class Liveness {
  private readonly records = new Map<string, FailureRecord>();
  private lastTick: number;
  private lastPing = 0;
  private lonelySince: number | null = null;
  /** The last env error any worker reported (for "every worker process failed"). */
  lastEnvError = '';

  constructor(
    private readonly opts: LivenessOptions,
    now: number,
  ) {
    this.lastTick = now;
  }

  tick(now: number, members: Iterable<Member>): TickResult {
    const paused = now - this.lastTick > this.opts.timeoutMs;
    this.lastTick = now;
    const pingDue = now - this.lastPing >= this.opts.heartbeatMs;
    if (pingDue) this.lastPing = now;
    const ping: Member[] = [];
    const silent: Member[] = [];
    let count = 0;
    for (const m of members) {
      count += 1;
      if (paused) m.lastSeen = now; // their heartbeats wait unread
      if (now - m.lastSeen > this.opts.timeoutMs) silent.push(m);
      else if (pingDue) ping.push(m);
    }
    let lonely = false;
    if (count > 0) this.lonelySince = null;
    else {
      this.lonelySince ??= now;
      if (now - this.lonelySince > this.opts.timeoutMs) {
        lonely = true;
        this.lonelySince = now;
      }
    }
    return { paused, ping, silent, lonely };
  }

  /** A member joined (afresh). */
  joined(m: Member): void {
    this.records.set(m.key, { failures: 0, last: '' });
  }

  left(m: Member): void {
    this.records.delete(m.key);
  }

  /** A good batch from `m`: its failures are forgiven. */
  delivered(m: Member): void {
    const r = this.records.get(m.key);
    if (r) r.failures = 0;
  }

  /** An env error reported by `m`, described by `text` (already escaped). */
  envError(m: Member, text: string, live: Iterable<Member>): FailureVerdict {
    this.lastEnvError = text;
    return this.failed(m, text, live);
  }

  /** A failure of `m` (env error, malformed or rejected batch) described by `text` (already escaped). */
  failed(m: Member, text: string, live: Iterable<Member>): FailureVerdict {
    const r = this.records.get(m.key) ?? { failures: 0, last: '' };
    this.records.set(m.key, r);
    r.failures += 1;
    r.last = text;
    if (r.failures <= this.opts.failureLimit) return { action: 'count' };
    const others = [...live].filter((x) => x.key !== m.key);
    if (others.some((x) => (this.records.get(x.key)?.failures ?? 0) <= this.opts.failureLimit)) {
      return { action: 'drop', why: `keeps failing: ${this.opts.failureLimit + 1} env errors or bad batches and no good batch since; last: ${text}` };
    }
    const total = [m, ...others].reduce((s, x) => s + (this.records.get(x.key)?.failures ?? 0), 0);
    return { action: 'stop', why: `every worker keeps failing: ${total} env errors or bad batches and no good batch since; last: ${text}` };
  }
}
