import { type ChildProcess, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import type { TrajectoryBatch, Weights } from '../../core/algorithm';
import { RlError } from '../../core/errors';
import type { Sampler } from './sampler';
import { serverCurveOptions, ZapAuthenticator, type KeyPair } from '../transport/curve';
import { DEFAULT_MAX_MESSAGE_BYTES, decodeWorkerMessage, encode, MessageRejected, type BatchExpectation, type WorkerMessage, type WorkerSetup } from '../transport/protocol';
import { bindOrExplain, parseTcpEndpoint } from '../transport/endpoint';
import { MAX_BATCH_ENVS, MAX_BATCH_LENGTH } from '../transport/limits';
import { SendQueue } from '../transport/send-queue';
import { parseModuleRef } from '../env-loader';

export interface WorkerPoolOptions {
  /** What every worker runs, less its own env count and the PUB endpoint. */
  setup: Omit<WorkerSetup, 'pubEndpoint'>;
  expectation: Omit<BatchExpectation, 'maxNumEnvs' | 'maxLength' | 'maxBytes'>;
  /** Worker processes to spawn on this machine (connected over ipc). */
  numWorkers: number;
  /** Also listen here for remote workers (`--bind tcp://0.0.0.0:5555`); the PUB socket takes the next port. */
  bind?: string;
  /** CURVE: the learner's key pair and the allowed worker keys. Undefined: no encryption. */
  curve?: { pair: KeyPair; allowed: Set<string> };
  maxPolicyLag: number;
  /** Async mode: every worker samples without pause (two requests in flight), see `next()`. */
  streaming?: boolean;
  workerTimeoutSeconds: number;
  maxWorkerRestarts: number;
  heartbeatSeconds: number;
  log: (line: string) => void;
}

interface LiveWorker {
  id: number;
  identity: Buffer;
  slot: number | null;
  numEnvs: number;
  lastSeen: number;
  /** Sample requests in flight (at most one in sync mode, two when streaming). */
  requests: number;
  lastSeq: number;
  name: string;
}

interface Slot {
  child: ChildProcess | null;
  restarts: number;
  timer: NodeJS.Timeout | null;
}

/**
 * The learner's side of the distributed runtime: a ROUTER socket for worker traffic (hello,
 * batches, heartbeats, errors) and a PUB socket that broadcasts weights once per iteration.
 * Spawned workers are child processes restarted with a backoff when they die; remote workers
 * connect and leave as they like. Every message is validated; anything malformed is dropped,
 * counted in `rejectedMessages` and logged once per kind.
 */
export class WorkerPool implements Sampler {
  private readonly router: zmq.Router;
  private readonly pub: zmq.Publisher;
  private readonly routerOut: SendQueue;
  private readonly pubOut: SendQueue;
  private readonly workers = new Map<string, LiveWorker>();
  private readonly slots: Slot[];
  private readonly queue: TrajectoryBatch[] = [];
  private wake: (() => void) | null = null;
  private readonly zap?: ZapAuthenticator;
  private readonly childPair?: KeyPair;
  private routerEndpoint = '';
  private pubEndpoints: { ipc: string; tcp?: string } = { ipc: '' };
  private timer: NodeJS.Timeout | null = null;
  private weights: Weights = [];
  private version = 0;
  private nextId: number;
  private closed = false;
  private readonly loggedKinds = new Set<string>();
  private readonly counters = { rejectedMessages: 0, workerRestarts: 0, droppedBatches: 0, envErrors: 0 };
  private errorsSinceBatch = 0;
  private lastEnvError = '';
  private fatal: Error | null = null;
  private lagSum = 0;
  private lagCount = 0;
  private noWorkersSince: number | null = null;
  private lastPing = 0;
  private lastTick = Date.now();
  private readonly pendingHellos: [Buffer, WorkerMessage][] = [];

  private constructor(private readonly opts: WorkerPoolOptions) {
    // Above the protocol's limit, so that an oversized message is read, counted and dropped; far above it libzmq cuts the sender off.
    const maxMessageSize = 2 * DEFAULT_MAX_MESSAGE_BYTES;
    const curve = opts.curve ? serverCurveOptions(opts.curve.pair) : {};
    this.router = new zmq.Router({ linger: 0, maxMessageSize, ...curve });
    this.pub = new zmq.Publisher({ linger: 0, sendHighWaterMark: 100, ...curve });
    this.routerOut = new SendQueue(this.router);
    this.pubOut = new SendQueue(this.pub);
    this.slots = Array.from({ length: opts.numWorkers }, () => ({ child: null, restarts: 0, timer: null }));
    this.nextId = opts.numWorkers;
    if (opts.curve) {
      // Spawned workers get a key pair of their own, allowed for this run only.
      this.childPair = zmq.curveKeyPair();
      opts.curve.allowed.add(this.childPair.publicKey);
      this.zap = new ZapAuthenticator(opts.curve.allowed, (msg) => opts.log(msg));
    }
  }

  static async start(opts: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(opts);
    try {
      await pool.listen();
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  private async listen(): Promise<void> {
    await this.zap?.start();
    const base = path.join(os.tmpdir(), `rl-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
    this.routerEndpoint = `ipc://${base}-router`;
    this.pubEndpoints.ipc = `ipc://${base}-pub`;
    await this.router.bind(this.routerEndpoint);
    await this.pub.bind(this.pubEndpoints.ipc);
    if (this.opts.bind) {
      const tcp = parseTcpEndpoint(this.opts.bind);
      if (!tcp) throw new RlError(`--bind ${this.opts.bind}: expected tcp://HOST:PORT`);
      await bindOrExplain(this.router, this.opts.bind);
      const port = Number(new URL(this.router.lastEndpoint!.replace('tcp://', 'http://')).port);
      await bindOrExplain(this.pub, `tcp://${tcp.host}:${port + 1}`, `--bind ${this.opts.bind}: the weights' port,`);
      this.pubEndpoints.tcp = this.pub.lastEndpoint!;
      this.opts.log(`listening for workers on ${this.router.lastEndpoint} (weights on port ${port + 1})${this.opts.curve ? ', CURVE encrypted' : ''}`);
    }
    void this.receiveLoop();
    this.timer = setInterval(() => this.tick(), 250);
    this.slots.forEach((_, i) => this.spawnWorker(i));
  }

  private spawnWorker(slot: number): void {
    const s = this.slots[slot];
    s.timer = null;
    if (this.closed) return;
    const args = [path.join(__dirname, '..', 'cli.js'), 'worker', '--connect', this.routerEndpoint, '--slot', String(slot)];
    // This learner spawned it, so the worker trusts the learner's env module (and nothing else of the disk).
    const module = parseModuleRef(this.opts.setup.envId);
    if (module) args.push('--env-dir', path.dirname(module.file));
    const env = { ...process.env };
    if (this.childPair && this.opts.curve) {
      env.RL_WORKER_KEYS = JSON.stringify({ pair: this.childPair, learnerKey: this.opts.curve.pair.publicKey });
    }
    // Its own process group: Ctrl-C in the terminal reaches the learner, which stops its workers.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env, detached: true });
    child.on('error', (err) => this.opts.log(`worker slot ${slot}: could not start a process: ${err.message}`));
    s.child = child;
    child.once('exit', (code, signal) => {
      s.child = null;
      for (const [key, w] of this.workers) if (w.slot === slot) this.dropWorker(key, `exited (${signal ?? `code ${code}`})`);
      if (this.closed) return;
      if (s.restarts >= this.opts.maxWorkerRestarts) {
        this.opts.log(`worker slot ${slot} exited (${signal ?? `code ${code}`}) and has used its ${this.opts.maxWorkerRestarts} restarts`);
        if (this.slots.every((x) => x.child === null && x.restarts >= this.opts.maxWorkerRestarts) && this.workers.size === 0 && !this.opts.bind) {
          this.fail(new RlError(`every worker process failed ${this.opts.maxWorkerRestarts + 1} times${this.lastEnvError ? `; last env error: ${this.lastEnvError}` : ''}`));
        }
        return;
      }
      const delay = Math.min(10, 0.25 * 2 ** Math.min(s.restarts, 6));
      s.restarts += 1;
      this.counters.workerRestarts += 1;
      this.opts.log(`worker slot ${slot} (pid ${child.pid}) exited (${signal ?? `code ${code}`}); restarting in ${delay} s (restart ${s.restarts} of ${this.opts.maxWorkerRestarts})`);
      s.timer = setTimeout(() => this.spawnWorker(slot), delay * 1000);
    });
  }

  private async receiveLoop(): Promise<void> {
    const expectation: BatchExpectation = { ...this.opts.expectation, maxNumEnvs: MAX_BATCH_ENVS, maxLength: MAX_BATCH_LENGTH, maxBytes: DEFAULT_MAX_MESSAGE_BYTES };
    try {
      for await (const frames of this.router) {
        const [identity, payload] = frames;
        if (frames.length !== 2) {
          this.reject('frames', `expected 2 frames, got ${frames.length}`);
          continue;
        }
        let msg: WorkerMessage;
        try {
          msg = decodeWorkerMessage(payload, expectation);
        } catch (err) {
          if (!(err instanceof MessageRejected)) throw err;
          this.reject(err.kind, err.message);
          // Whatever it was, that worker is not busy with our request any more: ask it again,
          // and count it as a failure, so that a worker whose every batch is bad ends the run.
          const w = this.workers.get(identity.toString('hex'));
          if (w) {
            w.requests = Math.max(0, w.requests - 1);
            this.countFailure(`${w.name} sent a malformed message: ${err.message}`);
            this.wake?.(); // collect() asks it again now, not at its next poll
          }
          continue;
        }
        this.handle(identity, msg);
      }
    } catch (err) {
      if (!this.closed) this.fail(err as Error);
    }
  }

  private handle(identity: Buffer, msg: WorkerMessage): void {
    const key = identity.toString('hex');
    if (msg.type === 'hello') {
      if (this.weights.length === 0) {
        this.pendingHellos.push([identity, msg]); // answered with the first weights
        return;
      }
      const known = this.workers.get(key);
      if (known) {
        // A worker that lost touch for a while: same id, same envs; just its welcome again.
        known.requests = 0;
        known.lastSeq = -1; // it starts its batches over
        void this.routerOut.send([identity, encode({ type: 'welcome', workerId: known.id, setup: { ...this.opts.setup, numEnvs: known.numEnvs, pubEndpoint: this.pubFor(known.slot) }, weights: this.weights, policyVersion: this.version })]);
        return;
      }
      const slot = msg.slot !== null && msg.slot < this.slots.length && ![...this.workers.values()].some((w) => w.slot === msg.slot) ? msg.slot : null;
      // A slot's first process is worker <slot>, as in local mode; restarts and remote workers get fresh ids (fresh env seeds).
      const id = slot !== null && this.slots[slot].restarts === 0 ? slot : this.nextId++;
      const numEnvs = msg.numEnvs ?? this.opts.setup.numEnvs;
      const name = `worker ${id} (${slot !== null ? `slot ${slot}, ` : ''}${msg.host} pid ${msg.pid}, ${numEnvs} envs)`;
      this.workers.set(key, { id, identity, slot, numEnvs, lastSeen: Date.now(), requests: 0, lastSeq: -1, name });
      void this.routerOut.send([identity, encode({ type: 'welcome', workerId: id, setup: { ...this.opts.setup, numEnvs, pubEndpoint: this.pubFor(slot) }, weights: this.weights, policyVersion: this.version })]);
      this.opts.log(`${name} joined; ${this.workers.size} live`);
      this.noWorkersSince = null;
      return;
    }
    const w = this.workers.get(key);
    if (!w) {
      void this.routerOut.send([identity, encode({ type: 'unknownWorker' })]);
      return;
    }
    w.lastSeen = Date.now();
    switch (msg.type) {
      case 'heartbeat':
        return;
      case 'batch': {
        const b = msg.batch;
        const bad =
          b.workerId !== w.id || msg.workerId !== w.id ? (['impostor', `a batch from ${w.name} claims worker id ${b.workerId}`] as const)
          : b.seq <= w.lastSeq ? (['replayed', `${w.name} sent batch seq ${b.seq} after ${w.lastSeq}`] as const)
          : null;
        if (bad) {
          this.reject(bad[0], bad[1]);
          // It answered a request, badly: free the request (or collect() waits for it forever) and
          // go on from its sequence (a worker that started over after a welcome counts from 0).
          if (w.requests > 0) w.requests -= 1;
          if (bad[0] === 'replayed') w.lastSeq = b.seq;
          this.countFailure(`${w.name}: ${bad[1]}`);
          this.wake?.();
          return;
        }
        if (w.requests === 0) return this.reject('unsolicited', `${w.name} sent a batch nobody asked for`);
        w.lastSeq = b.seq;
        w.requests -= 1;
        this.errorsSinceBatch = 0;
        this.queue.push(b);
        if (this.opts.streaming) this.stream();
        this.wake?.();
        return;
      }
      case 'envError':
        this.counters.envErrors += 1;
        this.logOnce(`env:${msg.envId}:${msg.message}`, `${w.name}: env ${msg.envId} threw at step ${msg.step}: ${msg.message} (episode dropped, env recreated; shown once)`);
        this.countFailure(`env ${msg.envId}, step ${msg.step}: ${msg.message}`);
        return;
      case 'weightsRequest':
        void this.routerOut.send([identity, encode({ type: 'weights', policyVersion: this.version, weights: this.weights })]);
        return;
      case 'bye':
        this.dropWorker(key, 'left');
        return;
    }
  }

  /** Spawned workers take the ipc endpoint; remote ones the tcp one. */
  private pubFor(slot: number | null): string {
    return slot !== null || !this.pubEndpoints.tcp ? this.pubEndpoints.ipc : this.pubEndpoints.tcp;
  }

  /** Heartbeats out, timeouts in, and a word when no worker is live. */
  private tick(): void {
    const now = Date.now();
    if (now - this.lastTick > this.opts.workerTimeoutSeconds * 1000) {
      // The learner itself was busy (a long update, a checkpoint): their heartbeats wait unread.
      for (const w of this.workers.values()) w.lastSeen = now;
    }
    this.lastTick = now;
    for (const [key, w] of this.workers) {
      if (now - w.lastSeen > this.opts.workerTimeoutSeconds * 1000) {
        this.dropWorker(key, `sent nothing for ${this.opts.workerTimeoutSeconds} s`);
        if (w.slot !== null) this.slots[w.slot].child?.kill('SIGKILL'); // hung: the exit handler restarts it
      } else if (now - this.lastPing >= this.opts.heartbeatSeconds * 1000) {
        void this.routerOut.send([w.identity, encode({ type: 'heartbeat' })]);
      }
    }
    if (now - this.lastPing >= this.opts.heartbeatSeconds * 1000) this.lastPing = now;
    if (this.workers.size === 0) {
      this.noWorkersSince ??= now;
      if (now - this.noWorkersSince > this.opts.workerTimeoutSeconds * 1000) {
        this.opts.log(`no live worker for ${this.opts.workerTimeoutSeconds} s; waiting for workers to connect${this.opts.bind ? ` to ${this.opts.bind}` : ''}`);
        this.noWorkersSince = now;
      }
    }
  }

  private dropWorker(key: string, why: string): void {
    const w = this.workers.get(key);
    if (!w) return;
    this.workers.delete(key);
    this.opts.log(`${w.name} ${why}${w.requests > 0 ? '; its unfinished batch is discarded' : ''}; ${this.workers.size} live`);
    this.wake?.();
  }

  /** Env errors and bad batches with no good batch in between: past a limit, the run stops. */
  private countFailure(what: string): void {
    this.errorsSinceBatch += 1;
    this.lastEnvError = what;
    if (this.errorsSinceBatch > 50 * Math.max(1, this.workers.size)) {
      this.fail(new RlError(`every worker keeps failing: ${this.errorsSinceBatch} env errors or bad batches and no good batch since; last: ${this.lastEnvError}`));
    }
  }

  private reject(kind: string, message: string): void {
    this.counters.rejectedMessages += 1;
    this.logOnce(`reject:${kind}`, `dropped a malformed message (${kind}): ${message} (further ones of this kind are counted in rejectedMessages, not shown)`);
  }

  private logOnce(key: string, line: string): void {
    if (this.loggedKinds.has(key)) return;
    this.loggedKinds.add(key);
    this.opts.log(line);
  }

  private fail(err: Error): void {
    this.fatal ??= err;
    this.wake?.();
  }

  /** Sends sample requests to idle workers while the steps in flight fall short of `needed`. */
  private requestSamples(needed: number): void {
    const T = this.opts.setup.rolloutLength;
    let inFlight = [...this.workers.values()].reduce((s, w) => s + w.requests * w.numEnvs * T, 0);
    for (const w of this.workers.values()) {
      if (inFlight >= needed) break;
      if (w.requests > 0) continue;
      this.request(w);
      inFlight += w.numEnvs * T;
    }
  }

  /**
   * Async mode: keeps two requests in flight per worker, so that it starts the next batch as
   * soon as it sends one; paused while the learner has a backlog of two batches per worker.
   */
  private stream(): void {
    if (this.queue.length >= 2 * this.workers.size) return;
    for (const w of this.workers.values()) while (w.requests < 2) this.request(w);
  }

  private request(w: LiveWorker): void {
    w.requests += 1;
    void this.routerOut.send([w.identity, encode({ type: 'sample', policyVersion: this.version })]);
  }

  private async waitForNews(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      setTimeout(resolve, 500); // re-check for workers that joined, and for fatal errors
    });
    this.wake = null;
  }

  private countLag(b: TrajectoryBatch): void {
    this.lagSum += this.version - b.policyVersion;
    this.lagCount += 1;
  }

  async collect(minSteps: number): Promise<TrajectoryBatch[]> {
    const batches: TrajectoryBatch[] = [];
    let steps = 0;
    while (steps < minSteps) {
      if (this.fatal) throw this.fatal;
      const b = this.queue.shift();
      if (!b) {
        this.requestSamples(minSteps - steps);
        await this.waitForNews();
        continue;
      }
      if (b.policyVersion < this.version - this.opts.maxPolicyLag) {
        this.counters.droppedBatches += 1;
        continue;
      }
      this.countLag(b);
      batches.push(b);
      steps += b.numEnvs * b.length;
    }
    // With lag allowed, workers sample the next batch while the learner updates.
    if (this.opts.maxPolicyLag > 0) this.requestSamples(minSteps);
    return batches;
  }

  async next(): Promise<TrajectoryBatch[]> {
    for (;;) {
      if (this.fatal) throw this.fatal;
      this.stream(); // workers that joined since
      if (this.queue.length > 0) {
        const batches = this.queue.splice(0);
        batches.forEach((b) => this.countLag(b));
        this.stream(); // the backlog is gone: the workers need not pause
        return batches;
      }
      await this.waitForNews();
    }
  }

  async broadcast(weights: Weights, policyVersion: number): Promise<void> {
    this.weights = weights;
    this.version = policyVersion;
    for (const [identity, hello] of this.pendingHellos.splice(0)) this.handle(identity, hello);
    await this.pubOut.send(encode({ type: 'weights', policyVersion, weights }));
  }

  stats(): Record<string, number> {
    const lag = this.lagCount > 0 ? this.lagSum / this.lagCount : 0;
    this.lagSum = 0;
    this.lagCount = 0;
    return { liveWorkers: this.workers.size, ...this.counters, policyLagMean: lag };
  }

  getState(): never[] {
    return []; // remote workers' env states are theirs; a resumed run re-seeds them
  }

  setState(): void {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const exits = this.slots.map((s) => {
      if (s.timer) clearTimeout(s.timer);
      const child = s.child;
      if (!child) return Promise.resolve();
      child.kill('SIGTERM');
      const hard = setTimeout(() => child.kill('SIGKILL'), 3000);
      return new Promise<void>((r) => child.once('exit', () => (clearTimeout(hard), r())));
    });
    await Promise.all(exits);
    this.router.close();
    this.pub.close();
    this.zap?.stop();
  }
}
