import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import type { ParamsById, TrajectoryBatch } from '../../../core/algorithm';
import { RlError } from '../../../core/errors';
import { Interrupted, type Sampler } from '../sampler';
import { keyFingerprint, serverCurveOptions, watchRefusedHandshakes, ZapAuthenticator, type KeyPair } from '../../transport/curve';
import { batchExpectation, DEFAULT_MAX_MESSAGE_BYTES, WEIGHTS_ASK_MS, decodeWorkerMessage, encode, MessageRejected, type BatchExpectation, type GameResult, type MatchupDraw, type RejectKind, type WorkerMessage, type WorkerSetup } from '../../transport/protocol';
import { bindOrExplain, parseTcpEndpoint } from '../../transport/endpoint';
import { parseModuleRef } from '../../env-loader';
import { SendQueue } from '../../transport/send-queue';
import { PACKAGE_VERSION } from '../../version';
import { HelloGate, WeightsAnswers } from './hello-gate';
import { RequestLedger } from './ledger';
import { Liveness, type FailureVerdict } from './liveness';
import { Membership, type Member } from './membership';
import { PeerLines, peerText } from './peer-text';
import { Supervisor } from './supervisor';
import { DecodeThreads, type Decoded } from './decode-threads';

export interface WorkerPoolOptions {
  /** What every worker runs, less its own env count, slot, the PUB endpoint and what the pool adds (instance, version, code). */
  setup: Omit<WorkerSetup, 'pubEndpoint' | 'slot' | 'numSlots' | 'instance' | 'packageVersion' | 'code'>;
  /** The env module bundled, for workers that lack it and accept shipped code (`rl worker --accept-code`). */
  code?: { sha256: string; source: Buffer };
  /** Worker processes to spawn on this machine (connected over ipc). */
  numWorkers: number;
  /** Also listen here for remote workers (`--bind tcp://0.0.0.0:5555`); the PUB socket takes the next port. */
  bind?: string;
  /** CURVE: the learner's key pair and the allowed worker keys (copied, never changed). Undefined: no encryption. */
  curve?: { pair: KeyPair; allowed: Set<string> };
  maxPolicyLag: number;
  /** Async and queue modes: every worker samples without pause (two requests in flight), see `next()` and `take()`. */
  streaming?: boolean;
  /**
   * Queue mode: the batches the learner queue holds before no worker is asked for more; set,
   * the sample requests name no policy version (a worker samples with the weights it holds).
   * Absent: two per worker.
   */
  queueSize?: number;
  /** Threads that decode and check the workers' messages off this one (`workers.decodeThreads`); 0 or absent: this thread does. */
  decodeThreads?: number;
  workerTimeoutSeconds: number;
  maxWorkerRestarts: number;
  heartbeatSeconds: number;
  /** `workers.inference` for the spawned workers (remote ones choose their own: `rl worker --inference`). */
  inference?: string;
  /**
   * The run is told to stop (SIGTERM, Ctrl-C): collect() and next() stop waiting for batches
   * and throw `Interrupted`, at once while no worker is live, else once the iteration has had
   * ABORT_GRACE_MS more (a live worker's batches finish the iteration before that, as a rule).
   */
  signal?: AbortSignal;
  log: (line: string) => void;
  /** A multi-agent run with a league: how games are drawn now, sent with every weights message (taken at each broadcast). */
  draw?: () => MatchupDraw;
  /** A multi-agent run: the game results of each accepted `games` message (for the league's records). */
  onGames?: (results: GameResult[]) => void;
}

/** Failures a worker may send with no good batch in between before it is dropped (or, if every worker does, the run stops). */
const FAILURE_LIMIT = 50;
/** Batches the reported policy lag is the mean and max over. */
const LAG_WINDOW = 100;
/** The window (ms) of each worker's reported sampling rate. */
const RATE_WINDOW_MS = 10_000;
/** Distinct texts shown once each; past this many, peers' texts go by the per-worker rate limit only. */
const MAX_SHOWN_ONCE = 1000;
/** Hellos answered per peer identity: 4 at once, then one per 5 s (a worker says hello again only after losing touch). */
const HELLOS_PER_PEER = { burst: 4, perSecond: 0.2 };
/** Hellos in all: a cluster of hundreds of workers starting at once joins within seconds; a flood of new identities is held to 50 small welcomes a second. */
const HELLOS_IN_ALL = { burst: 512, perSecond: 50 };
/** A same-version weights request answered again at most this often (ms), as often as a worker asks again: the first answer may have been lost in a reconnect. */
const WEIGHTS_REPEAT_MS = WEIGHTS_ASK_MS;
/** Hellos kept for the first broadcast, at most: past them, hellos before it are dropped (the worker says hello again). */
const MAX_PENDING_HELLOS = 1024;
/** After the stop signal, how long collect() and next() may still wait for live workers' batches (the Kubernetes pod has 120 s in all). */
const ABORT_GRACE_MS = 30_000;

/**
 * The learner's side of the distributed runtime, a `Sampler` over ZeroMQ: a ROUTER socket for
 * worker traffic (hello, batches, heartbeats, errors) and a PUB socket for the weights, sent
 * whenever the learner broadcasts (sync mode: once per iteration; async mode: whenever due).
 * A thin façade: it routes each decoded message to the pieces that decide,
 * `Membership` (who is in, ids and slots), `RequestLedger` (requests in flight, sequences,
 * backlog), `Liveness` (heartbeats, timeouts, failures) and `Supervisor` (spawned processes),
 * and acts on their answers. Every message is validated; anything malformed is dropped, counted
 * in `rejectedMessages` and logged once per kind. Text from peers is escaped and bounded.
 */
export class WorkerPool implements Sampler {
  private readonly router: zmq.Router;
  private readonly pub: zmq.Publisher;
  private readonly routerOut: SendQueue;
  private readonly pubOut: SendQueue;
  private readonly members: Membership;
  private readonly ledger: RequestLedger;
  private readonly liveness: Liveness;
  private readonly supervisor: Supervisor;
  private readonly zap?: ZapAuthenticator;
  private readonly decoder: DecodeThreads | null;
  private readonly expectation: BatchExpectation;
  private readonly peerLines: PeerLines;
  private readonly shownOnce = new Set<string>();
  private readonly pendingHellos = new Map<string, [Buffer, WorkerMessage & { type: 'hello' }]>();
  private readonly counters = { rejectedMessages: 0, ignoredRequests: 0, droppedBatches: 0, envErrors: 0, otherLearnerBatches: 0 };
  /** Which hellos get a welcome: a token bucket per peer and one for all (a flood of hellos buys no flood of welcomes). */
  private readonly helloGate: HelloGate;
  private readonly weightsAnswers = new WeightsAnswers(WEIGHTS_REPEAT_MS);
  /** This learner process, in every setup: a batch that names another (made before a restart) is dropped and counted. */
  private readonly instance = crypto.randomBytes(8).toString('hex');
  private readonly lags: number[] = [];
  /** Each member's accepted batches in the last RATE_WINDOW_MS (when, steps), and when it joined: its sampling rate. */
  private readonly intake = new Map<string, { joined: number; arrivals: [number, number][] }>();
  /** The clock of the sampling rates: the last tick's (every 250 ms), so that reading the stats twice gives the same figures. */
  private rateClock = Date.now();
  private ipcBase = '';
  private pubEndpoints: { ipc: string; tcp?: string } = { ipc: '' };
  private timer: NodeJS.Timeout | null = null;
  /** The params of `version`, by policy id; null before the first broadcast. */
  private params: ParamsById | null = null;
  /** The league's draw sent with `params` (multi-agent runs with a league); null: none. */
  private draw: MatchupDraw | null = null;
  private version = 0;
  private closed = false;
  private fatal: Error | null = null;
  /** When the stop signal came; null before. */
  private abortedAt: number | null = null;
  private readonly onAbort = () => this.event(() => (this.abortedAt ??= Date.now()));
  /** Whoever waits for the next event (collect(), next(), start-up): woken by `event`. */
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly opts: WorkerPoolOptions) {
    // Above the protocol's limit, so that an oversized message is read, counted and dropped; far above it libzmq cuts the sender off.
    const maxMessageSize = 2 * DEFAULT_MAX_MESSAGE_BYTES;
    const curve = opts.curve ? serverCurveOptions(opts.curve.pair) : {};
    this.router = new zmq.Router({ linger: 0, maxMessageSize, ...curve });
    this.pub = new zmq.Publisher({ linger: 0, sendHighWaterMark: 100, ...curve });
    this.routerOut = new SendQueue(this.router);
    this.pubOut = new SendQueue(this.pub);
    const timeoutMs = opts.workerTimeoutSeconds * 1000;
    this.members = new Membership(opts.numWorkers);
    this.ledger = new RequestLedger({ rolloutLength: opts.setup.rolloutLength, streaming: opts.streaming ?? false, maxBacklog: opts.queueSize, timeoutMs });
    this.liveness = new Liveness({ timeoutMs, heartbeatMs: opts.heartbeatSeconds * 1000, failureLimit: FAILURE_LIMIT }, Date.now());
    this.expectation = batchExpectation(opts.setup.policies, undefined, opts.setup.multiAgent?.agents);
    this.decoder = opts.decodeThreads ? new DecodeThreads(opts.decodeThreads, this.expectation, (identity, d) => this.event(() => this.decoded(identity, d)), (err) => this.event(() => this.fail(err))) : null;
    this.peerLines = new PeerLines(opts.log);
    // Together: room for every spawned worker and a scale-up of remote ones at once, then 10 a second.
    this.helloGate = new HelloGate({ perPeer: HELLOS_PER_PEER, total: { burst: Math.max(HELLOS_IN_ALL.burst, 2 * opts.numWorkers), perSecond: HELLOS_IN_ALL.perSecond }, maxPeers: 10_000 }, Date.now());
    let keys: { pair: KeyPair; learnerKey: string } | undefined;
    if (opts.curve) {
      // Spawned workers get a key pair of their own, allowed for this run only (in our copy of the set).
      keys = { pair: zmq.curveKeyPair(), learnerKey: opts.curve.pair.publicKey };
      this.zap = new ZapAuthenticator(new Set([...opts.curve.allowed, keys.pair.publicKey]), (msg) => opts.log(msg));
      watchRefusedHandshakes(this.router, opts.log);
    }
    this.ipcBase = path.join(os.tmpdir(), `rl-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    this.supervisor = new Supervisor({
      numWorkers: opts.numWorkers,
      connect: `ipc://${this.ipcBase}-router`,
      keys,
      envDir: ((m) => m && path.dirname(m.file))(parseModuleRef(opts.setup.envId)),
      maxRestarts: opts.maxWorkerRestarts,
      inference: opts.inference,
      log: opts.log,
      onExit: (slot, how) => this.onExit(slot, how),
    });
  }

  /**
   * Waits, at most `ms`, until every spawned worker has said hello, so that the first iteration
   * is shared among them rather than taken by whichever started first. One that is slower
   * joins later, as any worker may.
   */
  private async spawnedWorkersUp(ms: number): Promise<void> {
    const up = () => [...this.pendingHellos.values()].filter(([, h]) => h.slot !== null).length;
    let late = false;
    const deadline = setTimeout(() => this.event(() => (late = true)), ms);
    try {
      while (!this.closed && !late && up() < this.opts.numWorkers) await this.news();
    } finally {
      clearTimeout(deadline);
    }
  }

  static async start(opts: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(opts);
    try {
      await pool.listen();
      await pool.spawnedWorkersUp(Math.min(5, opts.workerTimeoutSeconds) * 1000);
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  private async listen(): Promise<void> {
    await this.zap?.start();
    this.pubEndpoints.ipc = `ipc://${this.ipcBase}-pub`;
    await this.router.bind(`ipc://${this.ipcBase}-router`);
    await this.pub.bind(this.pubEndpoints.ipc);
    if (this.opts.bind) {
      const tcp = parseTcpEndpoint(this.opts.bind);
      if (!tcp) throw new RlError(`--bind ${this.opts.bind}: expected tcp://HOST:PORT`);
      await bindOrExplain(this.router, this.opts.bind);
      const port = Number(new URL(this.router.lastEndpoint!.replace('tcp://', 'http://')).port);
      await bindOrExplain(this.pub, `tcp://${tcp.host}:${port + 1}`, `--bind ${this.opts.bind}: the weights' port,`);
      this.pubEndpoints.tcp = this.pub.lastEndpoint!;
      const curve = this.opts.curve ? `, CURVE encrypted, learner key ${keyFingerprint(this.opts.curve.pair.publicKey)}` : '';
      this.opts.log(`listening for workers on ${this.router.lastEndpoint} (weights on port ${port + 1})${curve}`);
    }
    void this.receiveLoop();
    if (this.opts.signal?.aborted) this.abortedAt = Date.now();
    else this.opts.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.timer = setInterval(() => this.event(() => this.tick()), 250);
    this.supervisor.start();
  }

  // ---- Events: each of the three sources (messages, the clock, process exits) runs through `event` ----

  /** Runs one event's handling, then wakes a waiting collect()/next(): the one place that does. */
  private event(handle: () => void): void {
    handle();
    if (this.opts.streaming) this.send(this.ledger.stream(Date.now()));
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  private async receiveLoop(): Promise<void> {
    try {
      for await (const frames of this.router) this.event(() => this.receive(frames));
    } catch (err) {
      if (!this.closed) this.event(() => this.fail(err as Error));
    }
  }

  private receive(frames: Buffer[]): void {
    if (frames.length !== 2) return this.reject('frames', `expected 2 frames, got ${frames.length}`);
    const [identity, payload] = frames;
    if (this.decoder) return this.decoder.decode(identity, payload); // answered in `decoded`
    let msg: WorkerMessage;
    try {
      msg = decodeWorkerMessage(payload, this.expectation);
    } catch (err) {
      if (!(err instanceof MessageRejected)) throw err;
      return this.malformed(identity, err.kind, err.message);
    }
    this.handle(identity, msg);
  }

  /** A decode thread's answer for a message of `identity`: handled as if decoded here. */
  private decoded(identity: Buffer, d: Decoded): void {
    if (this.closed) return;
    if ('msg' in d) this.handle(identity, d.msg);
    else if ('rejected' in d) this.malformed(identity, d.rejected.kind, d.rejected.message);
    else this.fail(new Error(`a decode thread failed: ${d.failed}`));
  }

  /** A message that failed its checks: dropped, counted, logged once per kind; a member's counts against it. */
  private malformed(identity: Buffer, kind: RejectKind, message: string): void {
    const text = peerText(message, 300);
    this.reject(kind, text);
    const m = this.members.get(identity.toString('hex'));
    if (m) {
      this.ledger.malformed(m.key, Date.now()); // whatever it was, it answered our request: ask again
      this.applyVerdict(m, this.liveness.failed(m, `${m.name} sent a malformed message: ${text}`, this.members.values()));
    }
  }

  private handle(identity: Buffer, msg: WorkerMessage): void {
    const key = identity.toString('hex');
    const now = Date.now();
    if (msg.type === 'hello') return this.helloReceived(identity, msg);
    const m = this.members.get(key);
    if (!m) return void this.routerOut.send([identity, encode({ type: 'unknownWorker' })]);
    m.lastSeen = now;
    switch (msg.type) {
      case 'heartbeat':
        if (msg.sampling) {
          this.ledger.progress(key, now);
          this.noteProgress(key, m.name, msg.sampling);
        }
        return;
      case 'batch':
        return void this.answered(m, msg.instance, msg.workerId, [msg.batch], now);
      case 'games':
        // A multi-agent worker's answer: its trained policy's batches, and the games it finished (for the league).
        if (this.answered(m, msg.instance, msg.workerId, msg.batches, now)) this.opts.onGames?.(msg.results);
        return;
      case 'envError': {
        this.counters.envErrors += 1;
        const envId = peerText(msg.envId, 200);
        const text = peerText(msg.message, 300);
        if (this.shownOnce.size < MAX_SHOWN_ONCE && !this.shownOnce.has(`env:${envId}:${text}`)) {
          this.shownOnce.add(`env:${envId}:${text}`);
          this.peerLines.show(key, m.name, `${m.name}: env ${envId} threw at step ${msg.step}: ${text} (episode dropped, env recreated; shown once)`, now);
        }
        this.applyVerdict(m, this.liveness.envError(m, `env ${envId}, step ${msg.step}: ${text}`, this.members.values()));
        return;
      }
      case 'weightsRequest':
        // Only a member's ask for its own id, once per version (and a repeat per WEIGHTS_REPEAT_MS): weights are the large message.
        if (msg.workerId !== m.id || !this.params || !this.weightsAnswers.due(key, this.version, now)) return this.ignore('weights-request', `${m.name} asked for weights again (or under another id); ignored (further ones are counted in ignoredRequests, not shown)`);
        return void this.routerOut.send([identity, encode({ type: 'weights', policyVersion: this.version, params: this.params, ...this.drawField() })]);
      case 'codeRequest': {
        const code = this.opts.code;
        if (!code || code.sha256 !== msg.sha256) return this.showOnce('code-request', `${m.name} asked for env code this run does not ship (sha256 ${msg.sha256.slice(0, 12)}); ignored`);
        const source = new Uint8Array(code.source.buffer, code.source.byteOffset, code.source.length);
        return void this.routerOut.send([identity, encode({ type: 'code', sha256: code.sha256, source })]);
      }
      case 'refused':
        this.showOnce(`refused:${peerText(msg.reason, 300)}`, `${m.name} refuses to run this run: ${peerText(msg.reason, 300)} (shown once; the run goes on with the other workers)`);
        return this.drop(key, 'refused the run');
      case 'bye':
        return this.drop(key, 'left');
    }
  }

  /** The batches answering a sample request of member `m`: accepted (true), or dropped and counted. */
  private answered(m: Member, instance: string, workerId: number, batches: TrajectoryBatch[], now: number): boolean {
    if (instance !== this.instance) {
      // Made for the learner before a restart (or another run): not a replay, and never trained on.
      this.counters.otherLearnerBatches += 1;
      this.ledger.malformed(m.key, now); // it answered no request of ours: ask again
      this.showOnce('other-learner', `${m.name} sent a batch made for another learner instance (before a restart?); dropped (counted in otherLearnerBatches)`);
      return false;
    }
    const rejected = this.ledger.answer(m.key, workerId, batches, now);
    if (!rejected) {
      this.counted(m.key, batches.reduce((n, b) => n + b.numEnvs * b.length, 0), now);
      this.liveness.delivered(m);
      return true;
    }
    this.reject(rejected.kind, rejected.why);
    if (rejected.failure) this.applyVerdict(m, this.liveness.failed(m, rejected.why, this.members.values()));
    return false;
  }

  /** A hello as received: past the rate limits (see `HelloGate`), or dropped and counted. */
  private helloReceived(identity: Buffer, msg: WorkerMessage & { type: 'hello' }): void {
    if (this.helloGate.admit(identity.toString('hex'), Date.now())) return this.hello(identity, msg);
    this.ignore('hello', `hellos past the rate limit (${HELLOS_PER_PEER.burst} a peer, then one per ${1 / HELLOS_PER_PEER.perSecond} s; ${HELLOS_IN_ALL.perSecond} a second in all) are dropped unanswered (counted in ignoredRequests, not shown)`);
  }

  private hello(identity: Buffer, msg: WorkerMessage & { type: 'hello' }): void {
    const key = identity.toString('hex');
    if (!this.params) {
      if (this.pendingHellos.size < MAX_PENDING_HELLOS || this.pendingHellos.has(key)) this.pendingHellos.set(key, [identity, msg]); // answered with the first weights; one per peer
      return;
    }
    const known = this.members.get(key);
    if (known) {
      // A worker that lost touch for a while: same id, same envs; just its welcome again.
      this.ledger.rewelcome(key);
      this.weightsAnswers.forget(key); // it starts over, without weights
      known.lastSeen = Date.now();
      return this.welcome(known);
    }
    const m = this.members.join(identity, msg, Date.now(), this.opts.setup.numEnvs, (slot) => this.supervisor.process(slot));
    this.ledger.join(m.key, m.id, m.numEnvs, m.name);
    this.intake.set(m.key, { joined: Date.now(), arrivals: [] });
    this.liveness.joined(m);
    this.welcome(m);
    this.opts.log(`${m.name} joined; ${this.members.size} live`);
  }

  private welcome(m: Member): void {
    // Spawned workers take the ipc endpoint; remote ones the tcp one.
    const pubEndpoint = m.processSlot !== null || !this.pubEndpoints.tcp ? this.pubEndpoints.ipc : this.pubEndpoints.tcp;
    const code = this.opts.code ? { sha256: this.opts.code.sha256, bytes: this.opts.code.source.length } : null;
    const setup: WorkerSetup = { ...this.opts.setup, numEnvs: m.numEnvs, slot: m.slot, numSlots: this.members.numSlots, pubEndpoint, instance: this.instance, packageVersion: PACKAGE_VERSION, code };
    void this.routerOut.send([m.identity, encode({ type: 'welcome', workerId: m.id, setup })]); // no weights: the worker asks (weightsRequest)
  }

  /** Heartbeats out; silent workers and unanswered requests past the timeout given up; a word when no worker is live. */
  private tick(): void {
    const now = Date.now();
    this.rateClock = now;
    this.helloGate.forgetQuiet(now);
    const t = this.liveness.tick(now, this.members.values());
    if (t.paused) this.ledger.paused(now);
    for (const m of t.silent) this.giveUp(m, `sent nothing for ${this.opts.workerTimeoutSeconds} s`);
    for (const key of this.ledger.overdue(now)) this.giveUp(this.members.get(key)!, `did not answer a sample request for ${this.opts.workerTimeoutSeconds} s`);
    for (const m of t.ping) void this.routerOut.send([m.identity, encode({ type: 'heartbeat' })]);
    if (t.lonely) this.opts.log(`no live worker for ${this.opts.workerTimeoutSeconds} s; waiting for workers to connect${this.opts.bind ? ` to ${this.opts.bind}` : ''}`);
  }

  private onExit(slot: number, how: string): void {
    this.event(() => {
      for (const m of this.members.inProcessSlot(slot)) this.drop(m.key, `exited (${how})`);
      if (this.supervisor.spent && this.members.size === 0 && !this.opts.bind) {
        const last = this.liveness.lastEnvError;
        this.fail(new RlError(`every worker process failed ${this.opts.maxWorkerRestarts + 1} times${last ? `; last env error: ${last}` : ''}`));
      }
    });
  }

  // ---- Decisions acted on ----

  /** Does what Liveness decided about a failing worker: nothing (counted), drop it, or stop the run. */
  private applyVerdict(m: Member, verdict: FailureVerdict): void {
    if (verdict.action === 'drop') this.giveUp(m, verdict.why);
    else if (verdict.action === 'stop') this.fail(new RlError(verdict.why));
  }

  /** Drops a member; a spawned one is killed too (hung or failing: its exit restarts it). */
  private giveUp(m: Member, why: string): void {
    this.drop(m.key, why);
    if (m.processSlot !== null) this.supervisor.kill(m.processSlot);
  }

  /**
   * A heartbeat sent mid-batch: a worker whose batches take longer than the worker timeout is
   * slow, not hung (its heartbeats say it is alive), and is kept; it is named once, with its rate.
   */
  private noteProgress(key: string, name: string, p: { steps: number; total: number; stepsPerSecond: number }): void {
    const batchSeconds = p.stepsPerSecond > 0 ? p.total / p.stepsPerSecond : Infinity;
    if (batchSeconds < this.opts.workerTimeoutSeconds || this.shownOnce.has(`slow:${key}`) || this.shownOnce.size >= MAX_SHOWN_ONCE) return;
    this.shownOnce.add(`slow:${key}`);
    const rate = p.stepsPerSecond.toFixed(p.stepsPerSecond < 10 ? 1 : 0);
    this.opts.log(`${name} is slow: ${rate} env steps/s, so a batch of ${p.total} steps takes about ${Math.round(batchSeconds)} s (more than workerTimeoutSeconds, ${this.opts.workerTimeoutSeconds}); kept, since its heartbeats say it is alive (fewer workers.envsPerWorker or workers.rolloutLength make batches shorter)`);
  }

  private drop(key: string, why: string): void {
    const m = this.members.drop(key);
    if (!m) return;
    const unfinished = this.ledger.leave(key);
    this.intake.delete(key);
    this.liveness.left(m);
    this.weightsAnswers.forget(key);
    this.peerLines.forget(key);
    this.opts.log(`${m.name} ${why}${unfinished > 0 ? '; its unfinished batch is discarded' : ''}; ${this.members.size} live`);
  }

  private send(keys: string[]): void {
    // Queue mode: version 0, any weights will do (a worker swaps in the newest it has between batches).
    const policyVersion = this.opts.queueSize === undefined ? this.version : 0;
    for (const key of keys) {
      const m = this.members.get(key);
      if (m) void this.routerOut.send([m.identity, encode({ type: 'sample', policyVersion })]);
    }
  }

  /** A batch of `steps` steps accepted from member `key`: into its sampling rate's window. */
  private counted(key: string, steps: number, now: number): void {
    const rec = this.intake.get(key);
    if (!rec) return;
    rec.arrivals.push([now, steps]);
    while (rec.arrivals.length > 0 && rec.arrivals[0][0] < now - RATE_WINDOW_MS) rec.arrivals.shift();
  }

  /** A line shown once per `key` (at most MAX_SHOWN_ONCE keys). */
  private showOnce(key: string, line: string): void {
    if (this.shownOnce.has(key) || this.shownOnce.size >= MAX_SHOWN_ONCE) return;
    this.shownOnce.add(key);
    this.opts.log(line);
  }

  /** A request (hello, weights request) past its rate limit: dropped, counted, said once per kind. */
  private ignore(kind: string, line: string): void {
    this.counters.ignoredRequests += 1;
    this.showOnce(`ignore:${kind}`, line);
  }

  private reject(kind: string, message: string): void {
    this.counters.rejectedMessages += 1;
    this.showOnce(`reject:${kind}`, `dropped a malformed message (${kind}): ${message} (further ones of this kind are counted in rejectedMessages, not shown)`);
  }

  private fail(err: Error): void {
    this.fatal ??= err;
  }

  // ---- Sampler ----

  /**
   * Resolves at the next event: a message, a process exit, a failure, the clock's tick (250 ms:
   * timeouts are found there) or close(). Every change a waiter looks for is one of those.
   */
  private news(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.add(resolve));
  }

  /** Throws `Interrupted` if the run was told to stop and waiting on is pointless or has taken its grace. */
  private checkInterrupted(): void {
    if (this.abortedAt === null) return;
    const waited = Date.now() - this.abortedAt;
    if (this.members.size === 0) throw new Interrupted('stopping: no live worker to finish the iteration, so it is given up');
    if (waited >= ABORT_GRACE_MS) throw new Interrupted(`stopping: the iteration did not finish within ${ABORT_GRACE_MS / 1000} s of the stop signal, so it is given up`);
  }

  /** A batch about to be handed out: its lag noted. */
  private handOut(b: TrajectoryBatch): void {
    this.lags.push(this.version - b.policyVersion);
    if (this.lags.length > LAG_WINDOW) this.lags.shift();
  }

  /** Sync and queue modes: a batch about to be handed out is dropped (and counted) if more than `maxPolicyLag` versions old, else handed out. */
  private fresh(b: TrajectoryBatch): boolean {
    if (b.policyVersion < this.version - this.opts.maxPolicyLag) {
      this.counters.droppedBatches += 1;
      return false;
    }
    this.handOut(b);
    return true;
  }

  async collect(minSteps: number): Promise<TrajectoryBatch[]> {
    const batches: TrajectoryBatch[] = [];
    let steps = 0;
    while (steps < minSteps) {
      if (this.fatal) throw this.fatal;
      const b = this.ledger.take();
      if (!b) {
        this.checkInterrupted();
        this.send(this.ledger.ask(minSteps - steps, Date.now()));
        await this.news();
        continue;
      }
      if (!this.fresh(b)) continue;
      batches.push(b);
      steps += b.numEnvs * b.length;
    }
    // With lag allowed, workers sample the next batch while the learner updates.
    if (this.opts.maxPolicyLag > 0) this.send(this.ledger.ask(minSteps, Date.now()));
    return batches;
  }

  async take(minSteps: number): Promise<{ batches: TrajectoryBatch[]; queued: number }> {
    await new Promise((resolve) => setImmediate(resolve)); // first read what arrived during the update
    const batches: TrajectoryBatch[] = [];
    let steps = 0;
    for (;;) {
      if (this.fatal) throw this.fatal;
      for (let b = this.ledger.take(); b; b = steps < minSteps ? this.ledger.take() : undefined) {
        if (!this.fresh(b)) continue;
        batches.push(b);
        steps += b.numEnvs * b.length;
      }
      if (steps >= minSteps) break;
      this.checkInterrupted();
      this.send(this.ledger.stream(Date.now(), true)); // the learner waits: ask even past a full queue
      await this.news();
    }
    this.send(this.ledger.stream(Date.now())); // room in the queue: paused workers go on
    return { batches, queued: this.ledger.queued };
  }

  async next(): Promise<TrajectoryBatch[]> {
    for (;;) {
      if (this.fatal) throw this.fatal;
      this.send(this.ledger.stream(Date.now())); // workers that joined since
      if (this.ledger.queued > 0) {
        const batches = this.ledger.takeAll();
        batches.forEach((b) => this.handOut(b));
        this.send(this.ledger.stream(Date.now())); // the backlog is gone: the workers need not pause
        return batches;
      }
      this.checkInterrupted();
      await this.news();
    }
  }

  async broadcast(params: ParamsById, policyVersion: number): Promise<void> {
    this.params = params;
    this.version = policyVersion;
    this.draw = this.opts.draw?.() ?? null;
    const hellos = [...this.pendingHellos.values()];
    this.pendingHellos.clear();
    for (const [identity, hello] of hellos) this.hello(identity, hello);
    await this.pubOut.send(encode({ type: 'weights', policyVersion, params, ...this.drawField() }));
  }

  /** A multi-agent run's league draw of the last broadcast, as a weights message carries it (none: no field). */
  private drawField(): { draw?: MatchupDraw } {
    return this.draw ? { draw: this.draw } : {};
  }

  /**
   * Figures for progress.jsonl; reading them changes nothing. `policyLagMean` and `policyLagMax`:
   * over the last 100 batches handed out. The sampling rates: env steps of the batches accepted
   * in the 10 s (or since the worker joined) up to the last tick of the pool's clock (250 ms), per
   * live worker (the slowest and the fastest) and all together.
   */
  stats(): Record<string, number> {
    const lag = this.lags.length > 0 ? this.lags.reduce((s, l) => s + l, 0) / this.lags.length : 0;
    const { rejectedMessages, ignoredRequests, droppedBatches, envErrors, otherLearnerBatches } = this.counters;
    const now = this.rateClock;
    const rates = [...this.intake.values()].map((r) => {
      const recent = r.arrivals.filter(([t]) => t >= now - RATE_WINDOW_MS).reduce((sum, [, steps]) => sum + steps, 0);
      return recent / (Math.max(1000, Math.min(RATE_WINDOW_MS, now - r.joined)) / 1000);
    });
    return {
      liveWorkers: this.members.size, rejectedMessages, ignoredRequests, workerRestarts: this.supervisor.restarts, droppedBatches, otherLearnerBatches, envErrors,
      policyLagMean: lag, policyLagMax: this.lags.reduce((m, l) => Math.max(m, l), 0),
      sampledStepsPerSecond: rates.reduce((a, r) => a + r, 0), workerStepsPerSecondMin: rates.length > 0 ? Math.min(...rates) : 0, workerStepsPerSecondMax: rates.length > 0 ? Math.max(...rates) : 0,
    };
  }

  getState(): never[] {
    return []; // remote workers' env states are theirs; a resumed run re-seeds them
  }

  setState(): void {}

  /** Stops the workers, closes the sockets, removes the ipc socket files; a waiting collect() or next() rejects. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.event(() => this.fail(new RlError('the worker pool is closed'))); // a collect() or next() still waiting ends
    if (this.timer) clearInterval(this.timer);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    await this.supervisor.close();
    await this.decoder?.close();
    this.router.close();
    this.pub.close();
    this.zap?.stop();
    for (const end of ['router', 'pub']) fs.rmSync(`${this.ipcBase}-${end}`, { force: true });
  }
}
