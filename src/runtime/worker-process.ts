import * as os from 'node:os';
import * as zmq from 'zeromq';
import { algorithms } from '../../algorithms';
import type { SamplingPolicy, Weights } from '../../core/algorithm';
import { localEnvId } from '../env-loader';
import { RolloutWorker } from './rollout-worker';
import { clientCurveOptions, type KeyPair } from '../transport/curve';
import { decodeLearnerMessage, encode, MessageRejected, type WorkerSetup } from '../transport/protocol';
import { parseTcpEndpoint } from '../transport/endpoint';
import { SendQueue } from '../transport/send-queue';

export interface WorkerProcessOptions {
  connect: string;
  /** Envs to step; default: what the learner says. */
  numEnvs?: number;
  /** The spawning learner's slot for this process (spawned workers only). */
  slot?: number;
  curve?: { pair: KeyPair; learnerKey: string };
  log: (line: string) => void;
}

/**
 * `rl worker`: connects to a learner, receives everything it needs (env, model, seeds,
 * weights), and answers each sample request with one trajectory batch. It swaps in new
 * weights only between batches. If the learner goes away it keeps trying (ZeroMQ reconnects)
 * and starts over with whichever learner answers.
 */
export class WorkerProcess {
  private readonly dealer: zmq.Dealer;
  private sub: zmq.Subscriber | null = null;
  private readonly out: SendQueue;
  private setup: WorkerSetup | null = null;
  private workerId = -1;
  private policy: SamplingPolicy | null = null;
  private rollout: RolloutWorker | null = null;
  private latest: { policyVersion: number; weights: Weights } | null = null;
  private requests: number[] = [];
  private wake: (() => void) | null = null;
  private stopped = false;
  private lastFromLearner = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private incarnation = 0;

  constructor(private readonly opts: WorkerProcessOptions) {
    const curve = opts.curve ? clientCurveOptions(opts.curve.pair, opts.curve.learnerKey) : {};
    // A small queue: while the learner is away, heartbeats are skipped rather than piled up.
    this.dealer = new zmq.Dealer({ linger: 0, sendHighWaterMark: 10, ...curve });
    this.out = new SendQueue(this.dealer);
  }

  async run(): Promise<void> {
    // A CURVE learner that refuses this worker's key answers the handshake with 400; without
    // this the worker would wait forever with its hello queued.
    this.dealer.events.on('handshake:error:auth', () => {
      this.opts.log(`worker: the learner at ${this.opts.connect} refused this worker's key (not in its --allowed-keys); stopping`);
      process.exitCode = 3;
      this.stop();
    });
    this.dealer.connect(this.opts.connect);
    this.hello();
    this.timer = setInterval(() => this.tick(), 1000);
    void this.receive();
    while (!this.stopped) {
      const version = this.requests.shift();
      if (version === undefined) {
        await new Promise<void>((r) => (this.wake = r));
        continue;
      }
      await this.sampleOnce(version);
    }
  }

  private hello(): void {
    void this.out.send(encode({ v: 1, type: 'hello', host: os.hostname(), pid: process.pid, numEnvs: this.opts.numEnvs ?? null, slot: this.opts.slot ?? null }));
  }

  private tick(): void {
    const timeout = (this.setup?.heartbeatSeconds ?? 1) * 10;
    if (this.out.pending > 0) return; // the learner is not reading: don't pile up
    if (this.workerId >= 0) void this.out.send(encode({ v: 1, type: 'heartbeat', workerId: this.workerId, policyVersion: this.rollout?.policyVersion ?? 0 }));
    if (Date.now() - this.lastFromLearner > timeout * 1000) {
      this.opts.log(`worker: no word from the learner at ${this.opts.connect} for ${timeout} s; still trying`);
      this.lastFromLearner = Date.now();
      this.reintroduce();
    }
  }

  /** Forgets our id, requests and rollout (a batch mid-way is never sent), and says hello; the next welcome starts us over. */
  private reintroduce(): void {
    this.workerId = -1;
    this.requests = [];
    this.rollout?.close();
    this.rollout = null;
    this.hello();
  }

  private async receive(): Promise<void> {
    for await (const [payload] of this.dealer) {
      let msg;
      try {
        msg = decodeLearnerMessage(payload);
      } catch (err) {
        if (err instanceof MessageRejected) continue;
        throw err;
      }
      this.lastFromLearner = Date.now();
      switch (msg.type) {
        case 'welcome':
          try {
            this.start(msg.workerId, msg.setup, msg.weights, msg.policyVersion);
          } catch (err) {
            // e.g. a custom env module that is not on this machine, or an algorithm this version lacks
            this.opts.log(`worker: cannot run what the learner asks: ${(err as Error).message}`);
            process.exitCode = 4;
            this.stop();
          }
          break;
        case 'sample':
          this.requests.push(msg.policyVersion);
          this.wake?.();
          break;
        case 'weights':
          this.offer(msg.policyVersion, msg.weights);
          break;
        case 'unknownWorker':
          // A new learner, or one that gave up on us: introduce ourselves again, once (each of our
          // messages it dropped is answered so).
          if (this.workerId >= 0) this.reintroduce();
          break;
        case 'heartbeat':
          break;
      }
    }
  }

  private start(workerId: number, setup: WorkerSetup, weights: Weights, policyVersion: number): void {
    this.rollout?.close();
    this.sub?.close();
    this.workerId = workerId;
    this.setup = { ...setup, envId: localEnvId(setup.envId, setup.learnerDir) }; // throws if a module env is not here
    this.requests = [];
    this.latest = null;
    this.policy = algorithms[setup.spec.algorithm].createPolicy(setup.spec, { slot: setup.slot, numSlots: setup.numSlots });
    this.rollout = this.makeRollout();
    this.rollout.setWeights(weights, policyVersion);
    const curve = this.opts.curve ? clientCurveOptions(this.opts.curve.pair, this.opts.curve.learnerKey) : {};
    const sub = new zmq.Subscriber({ linger: 0, ...curve });
    this.sub = sub;
    sub.connect(this.pubEndpoint(setup.pubEndpoint));
    sub.subscribe();
    void (async () => {
      for await (const [payload] of sub) {
        try {
          const msg = decodeLearnerMessage(payload);
          if (msg.type === 'weights') this.offer(msg.policyVersion, msg.weights);
        } catch (err) {
          if (!(err instanceof MessageRejected)) this.opts.log(`worker: weights message failed: ${(err as Error).message}`);
        }
      }
    })();
    this.opts.log(`worker ${workerId}: ${setup.numEnvs} x ${this.setup.envId}, ${setup.rolloutLength} steps per batch, policy version ${policyVersion}`);
  }

  private makeRollout(incarnation = 0): RolloutWorker {
    const s = this.setup!;
    return new RolloutWorker({ workerId: this.workerId, envId: s.envId, envConfig: s.envConfig, numEnvs: s.numEnvs, rolloutLength: s.rolloutLength, seed: s.seed, policy: this.policy!, incarnation });
  }

  /** A remote learner's PUB endpoint is reached through the host this worker connected to. */
  private pubEndpoint(advertised: string): string {
    const pub = parseTcpEndpoint(advertised);
    const learner = parseTcpEndpoint(this.opts.connect);
    return pub && learner ? `tcp://${learner.host}:${pub.port}` : advertised;
  }

  private offer(policyVersion: number, weights: Weights): void {
    if (!this.latest || policyVersion > this.latest.policyVersion) this.latest = { policyVersion, weights };
    this.wake?.();
  }

  /** Waits (briefly) for the requested weights, swaps them in, samples, sends. */
  private async sampleOnce(version: number): Promise<void> {
    const rollout = this.rollout;
    if (!rollout) return;
    const deadline = Date.now() + 2000;
    while ((this.latest?.policyVersion ?? rollout.policyVersion) < version && rollout.policyVersion < version && !this.stopped) {
      if (this.rollout !== rollout) return;
      if (Date.now() > deadline) {
        void this.out.send(encode({ v: 1, type: 'weightsRequest', workerId: this.workerId }));
        return void this.requests.unshift(version);
      }
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
    if (this.rollout !== rollout) return; // a new welcome replaced everything while we waited
    if (this.latest && this.latest.policyVersion > rollout.policyVersion) rollout.setWeights(this.latest.weights, this.latest.policyVersion);
    try {
      const batch = rollout.sample();
      if (this.rollout === rollout) await this.out.send(encode({ v: 1, type: 'batch', workerId: this.workerId, batch }));
    } catch (err) {
      if (this.rollout !== rollout) return;
      // The env threw: drop the episode, recreate the envs (same policy), tell the learner once per step.
      const e = err as Error;
      const step = /step (\d+)/.exec(e.message)?.[1];
      void this.out.send(encode({ v: 1, type: 'envError', workerId: this.workerId, envId: this.setup!.envId, step: step ? Number(step) : 0, message: e.message.slice(0, 2000) }));
      rollout.envs.close();
      this.incarnation += 1;
      const fresh = this.makeRollout(this.incarnation); // shares the policy, which keeps its weights
      fresh.continueFrom(rollout);
      this.rollout = fresh;
      this.requests.unshift(version);
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.workerId >= 0) void this.out.send(encode({ v: 1, type: 'bye', workerId: this.workerId }));
    setTimeout(() => {
      this.dealer.close();
      this.sub?.close();
      this.rollout?.close();
      this.wake?.();
    }, 50);
  }
}
