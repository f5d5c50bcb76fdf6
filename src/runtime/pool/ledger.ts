import type { TrajectoryBatch } from '../../../core/algorithm';

/**
 * The one owner of the sample requests in flight: which worker was asked how often, which batch
 * answers which request, each worker's batch sequence, the backlog of accepted batches and the
 * back-pressure on streaming workers. Pure logic: events in (join, ask, batch, malformed message,
 * re-welcome, leave, learner pause, clock), decisions out (whom to ask, accept or reject, who is
 * overdue). No sockets, no timers: the caller sends the requests and keeps the clock.
 *
 * Every event that answers a request frees it, good or bad: a worker is never left counted as
 * busy with a request it has answered (the three hangs of collect() were such requests).
 */

export interface LedgerOptions {
  /** Steps per env in one batch. */
  rolloutLength: number;
  /** Async and queue modes: every worker keeps two requests in flight, paused while the backlog is full (`maxBacklog`). */
  streaming: boolean;
  /** Streaming: the batches the backlog holds before the workers pause; absent: two per worker. */
  maxBacklog?: number;
  /** A request unanswered this long (ms) is overdue: its worker is given up, so it holds no iteration longer. */
  timeoutMs: number;
}

/** A batch the ledger turned down: `failure` says whether it counts against its worker. */
export interface Rejection {
  kind: 'impostor' | 'replayed' | 'unsolicited';
  why: string;
  failure: boolean;
}

interface Account {
  id: number;
  numEnvs: number;
  name: string;
  /** Sample requests sent and not yet answered. */
  requests: number;
  lastSeq: number;
  /** Since when the worker has owed its next answer (ms); null when nothing is in flight. */
  waitingSince: number | null;
}

export class RequestLedger {
  private readonly accounts = new Map<string, Account>();
  private readonly backlog: TrajectoryBatch[] = [];

  constructor(private readonly opts: LedgerOptions) {}

  /** A welcomed worker, `numEnvs` envs a batch, that may now be asked. */
  join(key: string, id: number, numEnvs: number, name: string): void {
    this.accounts.set(key, { id, numEnvs, name, requests: 0, lastSeq: -1, waitingSince: null });
  }

  /** A known worker welcomed again: it forgot our requests and starts its sequence over. */
  rewelcome(key: string): void {
    const a = this.accounts.get(key);
    if (!a) return;
    a.requests = 0;
    a.lastSeq = -1;
    a.waitingSince = null;
  }

  /** A worker gone: its requests are given up. Returns how many there were. */
  leave(key: string): number {
    const requests = this.accounts.get(key)?.requests ?? 0;
    this.accounts.delete(key);
    return requests;
  }

  has(key: string): boolean {
    return this.accounts.has(key);
  }

  inFlight(key: string): number {
    return this.accounts.get(key)?.requests ?? 0;
  }

  /**
   * Sync mode: the workers to ask (once each) so that the steps in flight reach `needed`. An
   * overdue request covers nothing: the others are asked in its place.
   */
  ask(needed: number, now: number): string[] {
    const T = this.opts.rolloutLength;
    let inFlight = 0;
    for (const a of this.accounts.values()) if (!this.isOverdue(a, now)) inFlight += a.requests * a.numEnvs * T;
    const asked: string[] = [];
    for (const [key, a] of this.accounts) {
      if (inFlight >= needed) break;
      if (a.requests > 0) continue;
      this.record(a, now);
      asked.push(key);
      inFlight += a.numEnvs * T;
    }
    return asked;
  }

  /**
   * Async and queue modes: the requests to send (a key per request) so that every worker has
   * two in flight and starts its next batch as soon as it sends one; none while the backlog is
   * full (the learner is behind: the workers pause), unless `learnerWaits` (it needs more than
   * the full backlog holds).
   */
  stream(now: number, learnerWaits = false): string[] {
    if (!this.opts.streaming || (!learnerWaits && this.backlog.length >= (this.opts.maxBacklog ?? 2 * this.accounts.size))) return [];
    const asked: string[] = [];
    for (const [key, a] of this.accounts) {
      while (a.requests < 2) {
        this.record(a, now);
        asked.push(key);
      }
    }
    return asked;
  }

  /**
   * A decoded batch from worker `key` (`claimedId`: the message's workerId), or a multi-agent
   * worker's batches of one request (sequence numbers rising). Accepted into the backlog, or
   * rejected; either way a request it answered is freed, and a replayed sequence number becomes
   * the one the worker counts on from (it started over).
   */
  answer(key: string, claimedId: number, answer: TrajectoryBatch | readonly TrajectoryBatch[], now: number): Rejection | null {
    const batches: readonly TrajectoryBatch[] = Array.isArray(answer) ? answer : [answer as TrajectoryBatch];
    const a = this.accounts.get(key);
    if (!a) return { kind: 'unsolicited', why: 'a batch from a worker that is not a member', failure: false };
    if (claimedId !== a.id || batches.some((b) => b.workerId !== a.id)) {
      this.free(a, now);
      return { kind: 'impostor', why: `a batch from ${a.name} claims worker id ${claimedId}`, failure: true };
    }
    const first = batches[0].seq;
    if (first <= a.lastSeq) {
      const why = `${a.name} sent batch seq ${first} after ${a.lastSeq}`;
      this.free(a, now);
      a.lastSeq = batches[batches.length - 1].seq;
      return { kind: 'replayed', why, failure: true };
    }
    if (a.requests === 0) return { kind: 'unsolicited', why: `${a.name} sent a batch nobody asked for`, failure: false };
    this.free(a, now);
    a.lastSeq = batches[batches.length - 1].seq;
    this.backlog.push(...batches);
    return null;
  }

  /** A message from worker `key` that failed its checks: whatever it was, it answered a request. */
  malformed(key: string, now: number): void {
    const a = this.accounts.get(key);
    if (a) this.free(a, now);
  }

  /**
   * Worker `key` reported steps done on the batch it owes (a heartbeat sent mid-batch): it is
   * slow, not gone, so the clock of its request starts again. A peer that never reports
   * progress is still overdue after the timeout, whatever it claims in its hello.
   */
  progress(key: string, now: number): void {
    const a = this.accounts.get(key);
    if (a && a.waitingSince !== null) a.waitingSince = now;
  }

  /** The workers whose request has waited longer than the timeout. */
  overdue(now: number): string[] {
    return [...this.accounts].filter(([, a]) => this.isOverdue(a, now)).map(([key]) => key);
  }

  /** The learner itself was busy (a long update, a checkpoint): the answers waited unread, so the clocks start again. */
  paused(now: number): void {
    for (const a of this.accounts.values()) if (a.waitingSince !== null) a.waitingSince = now;
  }

  /** The oldest accepted batch, if any. */
  take(): TrajectoryBatch | undefined {
    return this.backlog.shift();
  }

  /** Every accepted batch, oldest first. */
  takeAll(): TrajectoryBatch[] {
    return this.backlog.splice(0);
  }

  get queued(): number {
    return this.backlog.length;
  }

  private record(a: Account, now: number): void {
    a.requests += 1;
    a.waitingSince ??= now;
  }

  private free(a: Account, now: number): void {
    if (a.requests > 0) a.requests -= 1;
    a.waitingSince = a.requests > 0 ? now : null;
  }

  private isOverdue(a: Account, now: number): boolean {
    return a.waitingSince !== null && now - a.waitingSince > this.opts.timeoutMs;
  }
}
