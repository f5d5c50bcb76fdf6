/**
 * Rate limits on what an unauthenticated peer can make the learner send. A hello costs a peer
 * some 60 bytes and buys a welcome (the run's setup: a few KB, more with a large Box space);
 * weights go only to members, by request. Pure: the caller passes the clock (ms).
 */

/** `burst` tokens, refilled at `perSecond`; a take spends one. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Whether a token was there (and is now spent). */
  take(now: number): boolean {
    if (!this.has(now)) return false;
    this.tokens -= 1;
    return true;
  }

  has(now: number): boolean {
    this.refill(now);
    return this.tokens >= 1;
  }

  /** Back to `burst`: a peer that has been quiet this long is forgotten. */
  full(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.at) / 1000) * this.perSecond);
    this.at = now;
  }
}

export interface HelloGateOptions {
  /** Each peer identity: a burst, then a steady rate (a worker says hello once, and again only after losing touch). */
  perPeer: { burst: number; perSecond: number };
  /** All peers together (a flood from ever new identities). */
  total: { burst: number; perSecond: number };
  /** Peers tracked at most; quiet ones (their bucket full again) are forgotten first. */
  maxPeers: number;
}

/** The hellos a learner answers: each peer within its own bucket, and all within the total bucket. */
export class HelloGate {
  private readonly total: TokenBucket;
  private readonly peers = new Map<string, TokenBucket>();

  constructor(
    private readonly opts: HelloGateOptions,
    now: number,
  ) {
    this.total = new TokenBucket(opts.total.burst, opts.total.perSecond, now);
  }

  /** Whether the hello of peer `key` is answered; a refused one costs no token of either bucket. */
  admit(key: string, now: number): boolean {
    const peer = this.peers.get(key);
    if (peer && !peer.has(now)) return false;
    if (!this.total.take(now)) return false;
    if (peer) return peer.take(now);
    if (this.peers.size >= this.opts.maxPeers) this.forgetQuiet(now);
    if (this.peers.size >= this.opts.maxPeers) return false;
    const fresh = new TokenBucket(this.opts.perPeer.burst, this.opts.perPeer.perSecond, now);
    fresh.take(now);
    this.peers.set(key, fresh);
    return true;
  }

  /** Peers tracked now (for tests: it stays bounded). */
  get size(): number {
    return this.peers.size;
  }

  /** Forgets the peers whose bucket is full again: they are as new. */
  forgetQuiet(now: number): void {
    for (const [key, b] of this.peers) if (b.full(now)) this.peers.delete(key);
  }
}

/**
 * Weights sent by request, per member: the first ask for a policy version is answered, a repeat
 * of the same version at most once per `repeatMs` (the answer may have been lost in a reconnect).
 */
export class WeightsAnswers {
  private readonly sent = new Map<string, { version: number; at: number }>();

  constructor(private readonly repeatMs: number) {}

  /** Whether member `key` gets `version` now; if so, it is noted as sent. */
  due(key: string, version: number, now: number): boolean {
    const last = this.sent.get(key);
    if (last && last.version >= version && now - last.at < this.repeatMs) return false;
    this.sent.set(key, { version, at: now });
    return true;
  }

  /** The member was welcomed again (it forgot everything) or left. */
  forget(key: string): void {
    this.sent.delete(key);
  }
}
