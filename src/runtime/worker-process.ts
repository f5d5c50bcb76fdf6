import * as os from 'node:os';
import * as zmq from 'zeromq';
import { algorithmNamed, algorithms } from '../../algorithms';
import { DEFAULT_POLICY, type ParamsById, type PolicySpec, type SamplingPolicy, type TensorShape } from '../../core/algorithm';
import { weightsMismatch } from './weights-fit';
import { EnvError } from '../../core/errors';
import { isShippedModule, moduleEnvId, registerShippedModule, type EnvTrust } from '../env-loader';
import { CodeCache, defaultCacheDir, loadShippedModule } from '../env-code/cache';
import { envSource, type EnvSource } from '../env-code/source';
import { PACKAGE_VERSION } from '../version';
import { RolloutWorker } from './rollout-worker';
import { clientCurveOptions, keyFingerprint, type KeyPair } from '../transport/curve';
import { DEFAULT_MAX_MESSAGE_BYTES, MAX_MODEL_PARAMS, decodeLearnerMessage, encode, MessageRejected, type LearnerMessage, type SamplingProgress, type WorkerSetup } from '../transport/protocol';
import { parseTcpEndpoint } from '../transport/endpoint';
import { SendQueue } from '../transport/send-queue';

export interface WorkerProcessOptions {
  connect: string;
  /** Envs to step; default: what the learner says. */
  numEnvs?: number;
  /** The spawning learner's slot for this process (spawned workers only). */
  slot?: number;
  curve?: { pair: KeyPair; learnerKey: string };
  /** Where module envs may come from (`--env-dir`, resolved); registered envs need nothing. */
  trust: EnvTrust;
  /** `--accept-code`: run the env code the learner ships (over CURVE to the learner key given only). */
  acceptCode?: boolean;
  /** `--insecure`: plain TCP, on which shipped code is refused. */
  insecure?: boolean;
  /** Where shipped env code is kept, by sha256 (`--cache-dir`). */
  cacheDir?: string;
  log: (line: string) => void;
}

type Welcome = Extract<LearnerMessage, { type: 'welcome' }>;

/** Weights that came by request with none by broadcast since the welcome: this many, and the worker says the PUB port looks unreachable. */
const REQUESTS_BEFORE_PUB_WARNING = 2;

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
  /** The run's setup, its envId as loaded here (a shipped env's: the cache file). */
  private setup: WorkerSetup | null = null;
  /** The env as the learner names it, for what this worker tells it. */
  private learnerEnvId = '';
  private codeCache: CodeCache | null = null;
  private workerId = -1;
  private policy: SamplingPolicy | null = null;
  /** The spec of the policy this worker runs, and the tensors its weights must have. */
  private spec: PolicySpec | null = null;
  private shapes: TensorShape[] | null = null;
  private rollout: RolloutWorker | null = null;
  private latest: { policyVersion: number; params: ParamsById } | null = null;
  /** Whether the rollout's policy holds weights from the learner (none right after a welcome). */
  private weighted = false;
  private requests: number[] = [];
  private wake: (() => void) | null = null;
  private stopped = false;
  private lastFromLearner = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private incarnation = 0;
  private lastHeartbeat = 0;
  /** Where the batch being sampled is, for the heartbeats; null between batches. */
  private progress: SamplingProgress | null = null;
  /** A welcome that came while a batch was being sampled: applied (and the batch dropped) when it ends. */
  private pendingWelcome: Welcome | null = null;
  private readonly weightsBy = { broadcast: 0, request: 0 };
  private handshakes = { ok: 0, failed: 0 };
  private readonly warned = new Set<string>();
  /** A welcome waiting for its shipped env code (asked for by sha256); started when the code comes. */
  private awaitingCode: { welcome: Welcome; sha256: string; exportName: string } | null = null;
  /** The learner instance last joined: a new one (a new run, or a restarted learner) is one log line. */
  private joined = '';

  constructor(private readonly opts: WorkerProcessOptions) {
    const curve = opts.curve ? clientCurveOptions(opts.curve.pair, opts.curve.learnerKey) : {};
    // A small queue: while the learner is away, heartbeats are skipped rather than piled up.
    // maxMessageSize: libzmq drops a frame far over the protocol's limit before it is read.
    this.dealer = new zmq.Dealer({ linger: 0, sendHighWaterMark: 10, maxMessageSize: 2 * DEFAULT_MAX_MESSAGE_BYTES, ...curve });
    this.out = new SendQueue(this.dealer);
  }

  async run(): Promise<void> {
    this.watchHandshakes();
    this.dealer.connect(this.opts.connect);
    this.hello();
    this.timer = setInterval(() => this.tick(), 1000);
    void this.receive();
    while (!this.stopped) {
      // Requests wait for a rollout (a welcome may be waiting for its env code).
      const version = this.rollout ? this.requests.shift() : undefined;
      if (version === undefined) {
        await new Promise<void>((r) => (this.wake = r));
        continue;
      }
      await this.sampleOnce(version);
    }
  }

  /**
   * What the handshake events say about a misconfiguration, said once each, at once: a
   * refused key (stop), a mechanism mismatch (CURVE on one side only: stop), a CURVE
   * handshake that keeps failing (most likely the wrong --learner-key: keep trying).
   */
  private watchHandshakes(): void {
    const at = this.opts.connect;
    // A CURVE learner that refuses this worker's key answers the handshake with 400; without
    // this the worker would wait forever with its hello queued.
    this.dealer.events.on('handshake:error:auth', () => {
      this.opts.log(`worker: the learner at ${at} refused this worker's key (not in its --allowed-keys); stopping`);
      process.exitCode = 3;
      this.stop();
    });
    this.dealer.events.on('handshake', () => (this.handshakes.ok += 1));
    this.dealer.events.on('handshake:error:protocol', (e) => {
      if (e.error.code !== 'ERR_ZMTP_MECHANISM_MISMATCH') return this.warnOnce('protocol', `worker: the handshake with ${at} failed (${e.error.code}); is it an rl learner's --bind address?`);
      this.opts.log(
        this.opts.curve
          ? `worker: the learner at ${at} does not use CURVE, and this worker does (--keys); start both with keys, or both without (--insecure); stopping`
          : `worker: the learner at ${at} uses CURVE and this worker does not: give --keys DIR and --learner-key FILE (the learner's public.key), not --insecure; stopping`,
      );
      process.exitCode = 3;
      this.stop();
    });
    this.dealer.events.on('handshake:error:other', () => {
      this.handshakes.failed += 1;
      if (this.opts.curve && this.handshakes.ok === 0 && this.handshakes.failed >= 2) {
        this.warnOnce(
          'curve',
          `worker: the learner at ${at} takes the connection but the CURVE handshake fails (${this.handshakes.failed} times): ` +
            "most likely --learner-key is not that learner's public.key (or the learner's --keys changed); still trying",
        );
      }
    });
  }

  private warnOnce(key: string, line: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.opts.log(line);
  }

  private hello(): void {
    void this.out.send(encode({ type: 'hello', host: os.hostname(), pid: process.pid, numEnvs: this.opts.numEnvs ?? null, slot: this.opts.slot ?? null }));
  }

  private heartbeatDue(): boolean {
    return Date.now() - this.lastHeartbeat >= (this.setup?.heartbeatSeconds ?? 1) * 1000;
  }

  /** One heartbeat, with where the batch being sampled is (the learner sees a slow worker, not a hung one). */
  private heartbeat(): void {
    this.lastHeartbeat = Date.now();
    if (this.workerId < 0 || this.out.pending > 0) return; // the learner is not reading: don't pile up
    void this.out.send(encode({ type: 'heartbeat', workerId: this.workerId, policyVersion: this.rollout?.policyVersion ?? 0, sampling: this.progress }));
  }

  private tick(): void {
    const timeout = (this.setup?.heartbeatSeconds ?? 1) * 10;
    if (this.heartbeatDue()) this.heartbeat();
    if (this.out.pending > 0 && this.workerId >= 0) return; // the learner is not reading: don't pile up hellos
    if (Date.now() - this.lastFromLearner > timeout * 1000) {
      const why = this.handshakes.ok === 0 && !this.opts.connect.startsWith('ipc://') ? ' (no connection has been made: is a learner bound there, and the port open?)' : '';
      this.opts.log(`worker: no word from the learner at ${this.opts.connect} for ${timeout} s${why}; still trying`);
      this.lastFromLearner = Date.now();
      this.reintroduce();
    }
  }

  /** Forgets our id, requests and rollout (a batch mid-way is never sent), and says hello; the next welcome starts us over. */
  private reintroduce(): void {
    this.workerId = -1;
    this.awaitingCode = null;
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
        if (!(err instanceof MessageRejected)) throw err;
        this.warnOnce(`reject:${err.kind}`, `worker: dropped a malformed message from the learner (${err.kind}): ${err.message} (further ones of this kind are not shown)`);
        continue;
      }
      this.lastFromLearner = Date.now();
      switch (msg.type) {
        case 'welcome':
          // What was asked before it is the old run's; what comes after (even before its env code arrives) is the new one's.
          this.requests = [];
          if (this.progress) this.pendingWelcome = msg; // mid-batch: applied when the batch ends
          else this.welcome(msg);
          break;
        case 'sample':
          this.requests.push(msg.policyVersion);
          this.wake?.();
          break;
        case 'weights':
          this.offer(msg.policyVersion, msg.params, 'request');
          break;
        case 'code':
          this.codeArrived(msg.sha256, Buffer.from(msg.source.buffer, msg.source.byteOffset, msg.source.length));
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

  /**
   * A learner's welcome: its env resolved (registered, a local file, or shipped code, from
   * the cache or asked for), then started; or refused with one line, sent to the learner too.
   */
  private welcome(msg: Welcome): void {
    const setup = msg.setup;
    this.awaitingCode = null; // a code asked for by an earlier welcome is no longer wanted
    if (setup.packageVersion !== PACKAGE_VERSION) {
      this.warnOnce(`version:${setup.packageVersion}`, `worker: this worker runs rl-zmq ${PACKAGE_VERSION}, the learner ${setup.packageVersion}; install the learner's version here if anything fails`);
    }
    const policy = { acceptCode: this.opts.acceptCode ?? false, authenticated: this.opts.curve !== undefined, insecure: this.opts.insecure ?? false, trust: this.opts.trust };
    const source = envSource(setup, policy);
    if (source.kind === 'refuse') return this.refuse(msg.workerId, source.reason);
    if (source.kind !== 'shipped') return this.startOrRefuse(msg, source);
    const cached = this.cache().read(source.code.sha256);
    if (cached) return this.startShipped(msg, source.code.sha256, source.exportName, cached, 'cached');
    // Let go of the old run now: its rollout must not answer the new learner's requests.
    this.rollout?.close();
    this.rollout = null;
    this.sub?.close();
    this.sub = null;
    this.workerId = msg.workerId;
    this.awaitingCode = { welcome: msg, sha256: source.code.sha256, exportName: source.exportName };
    void this.out.send(encode({ type: 'codeRequest', workerId: msg.workerId, sha256: source.code.sha256 }));
  }

  /** Code from the learner: run only if it is what this worker asked for (the cache checks the sha256 of the bytes). */
  private codeArrived(sha256: string, source: Buffer): void {
    const waiting = this.awaitingCode;
    if (!waiting || waiting.sha256 !== sha256) return this.warnOnce('unasked-code', 'worker: dropped env code this worker did not ask for (further ones are not shown)');
    this.awaitingCode = null;
    try {
      this.cache().write(sha256, source);
    } catch (err) {
      return this.refuse(waiting.welcome.workerId, `the shipped env code failed its check: ${(err as Error).message}`);
    }
    this.startShipped(waiting.welcome, sha256, waiting.exportName, source, 'received');
  }

  private startShipped(msg: Welcome, sha256: string, exportName: string, source: Buffer, how: string): void {
    const file = this.cache().file(sha256);
    try {
      // Run once per process: the same sha256 is the same module (one that calls registerEnv must not run twice).
      if (!isShippedModule(file)) registerShippedModule(file, loadShippedModule(source, file));
    } catch (err) {
      return this.refuse(msg.workerId, (err as Error).message);
    }
    this.startOrRefuse(msg, { kind: 'local', envId: moduleEnvId(file, exportName) }, `code sha256 ${sha256.slice(0, 12)} (shipped, ${how})`);
  }

  private startOrRefuse(msg: Welcome, source: Extract<EnvSource, { envId: string }>, code = source.kind === 'local' ? 'code from this machine' : 'registered env'): void {
    try {
      this.start(msg.workerId, msg.setup, source.envId);
    } catch (err) {
      // e.g. an algorithm this version lacks, or an env that fails to build
      return this.refuse(msg.workerId, (err as Error).message);
    }
    const s = msg.setup;
    const key = this.opts.curve ? `learner key ${keyFingerprint(this.opts.curve.learnerKey)}` : 'no CURVE';
    if (this.joined !== s.instance) {
      this.joined = s.instance;
      this.opts.log(`worker ${msg.workerId}: joined a run of the learner at ${this.opts.connect} (${key}): env ${s.envId}, ${code}, ${s.numEnvs} envs x ${s.rolloutLength} steps per batch`);
    } else {
      this.opts.log(`worker ${msg.workerId}: rejoined the same run`);
    }
  }

  /** One line here and to the learner; then this worker stops (exit code 4): it cannot run what is asked. */
  private refuse(workerId: number, reason: string): void {
    this.opts.log(`worker: refusing the learner's run: ${reason}`);
    void this.out.send(encode({ type: 'refused', workerId, reason: reason.slice(0, 2000) }));
    process.exitCode = 4;
    this.workerId = -1; // the refusal says goodbye
    this.stop();
  }

  private cache(): CodeCache {
    return (this.codeCache ??= new CodeCache(this.opts.cacheDir ?? defaultCacheDir()));
  }

  /** Starts the rollout with no weights, and asks for them: it samples once they came (see `sampleOnce`). */
  private start(workerId: number, setup: WorkerSetup, envId: string): void {
    // Everything that can refuse the setup comes first, before this worker lets go of what it runs.
    const spec = setup.policies[DEFAULT_POLICY];
    if (!spec) throw new EnvError(`the learner's run has no policy '${DEFAULT_POLICY}' for this single-agent env (it has ${Object.keys(setup.policies).join(', ')})`);
    const algorithm = algorithmNamed(spec.algorithm);
    if (!algorithm) {
      throw new EnvError(`the learner's algorithm '${spec.algorithm}' is not one this worker's version has (${Object.keys(algorithms).join(', ')}); run the learner's version here`);
    }
    const shapes = algorithm.weightShapes(spec);
    const size = shapes.reduce((a, t) => a + t.shape.reduce((x, d) => x * d, 1), 0);
    if (size > MAX_MODEL_PARAMS) throw new EnvError(`the learner's model has ${size} parameters, more than the ${MAX_MODEL_PARAMS} whose weights fit in one message`);
    this.rollout?.close();
    this.sub?.close();
    this.workerId = workerId;
    this.setup = { ...setup, envId };
    this.learnerEnvId = setup.envId;
    this.latest = null;
    this.weighted = false;
    this.weightsBy.broadcast = 0;
    this.weightsBy.request = 0;
    this.spec = spec;
    this.shapes = shapes;
    this.policy = algorithm.createPolicy(spec, { slot: setup.slot, numSlots: setup.numSlots });
    this.rollout = this.makeRollout();
    const curve = this.opts.curve ? clientCurveOptions(this.opts.curve.pair, this.opts.curve.learnerKey) : {};
    const sub = new zmq.Subscriber({ linger: 0, maxMessageSize: 2 * DEFAULT_MAX_MESSAGE_BYTES, ...curve });
    this.sub = sub;
    sub.connect(this.pubEndpoint(setup.pubEndpoint));
    sub.subscribe();
    void (async () => {
      for await (const [payload] of sub) {
        try {
          const msg = decodeLearnerMessage(payload);
          if (msg.type === 'weights') this.offer(msg.policyVersion, msg.params, 'broadcast');
        } catch (err) {
          if (!(err instanceof MessageRejected)) this.opts.log(`worker: weights message failed: ${(err as Error).message}`);
        }
      }
    })();
    void this.out.send(encode({ type: 'weightsRequest', workerId }));
    this.wake?.();
  }

  private makeRollout(incarnation = 0): RolloutWorker {
    const s = this.setup!;
    return new RolloutWorker({ workerId: this.workerId, envId: s.envId, envConfig: s.envConfig, numEnvs: s.numEnvs, rolloutLength: s.rolloutLength, seed: s.seed, policy: this.policy!, spec: this.spec!, incarnation });
  }

  /** A remote learner's PUB endpoint is reached through the host this worker connected to. */
  private pubEndpoint(advertised: string): string {
    const pub = parseTcpEndpoint(advertised);
    const learner = parseTcpEndpoint(this.opts.connect);
    return pub && learner ? `tcp://${learner.host}:${pub.port}` : advertised;
  }

  /** New params from the learner: kept if newer and if they fit this worker's policy (else refused: the run is not one this worker can follow). */
  private offer(policyVersion: number, params: ParamsById, by: 'broadcast' | 'request'): void {
    if (this.spec && this.shapes) {
      const wrong = weightsMismatch(this.shapes, params[this.spec.policyId]?.weights);
      if (wrong) return this.refuse(this.workerId, `the learner's weights of policy version ${policyVersion} do not fit its policy spec: ${wrong}`);
    }
    if (!this.latest || policyVersion > this.latest.policyVersion) this.latest = { policyVersion, params };
    this.weightsBy[by] += 1;
    if (by === 'request' && this.weightsBy.broadcast === 0 && this.weightsBy.request >= REQUESTS_BEFORE_PUB_WARNING) {
      this.warnOnce(
        'pub',
        `worker: new weights reach this worker only when it asks for them (${this.weightsBy.request} times, none broadcast): the learner's weights port ` +
          `${this.sub ? this.pubEndpoint(this.setup!.pubEndpoint) : ''} looks unreachable from here (a firewall?); each new policy now waits 2 s`,
      );
    }
    this.wake?.();
  }

  /** Waits (briefly) for the requested weights, swaps them in, samples, sends. */
  private async sampleOnce(version: number): Promise<void> {
    const rollout = this.rollout;
    if (!rollout) return;
    const deadline = Date.now() + 2000;
    // No weights yet (just welcomed): wait for them whatever version is asked for.
    while ((!this.latest || (this.latest.policyVersion < version && rollout.policyVersion < version)) && !this.stopped) {
      if (this.rollout !== rollout) return;
      if (Date.now() > deadline) {
        void this.out.send(encode({ type: 'weightsRequest', workerId: this.workerId }));
        return void this.requests.unshift(version);
      }
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
    if (this.rollout !== rollout || !this.latest) return; // a new welcome replaced everything while we waited, or we stopped before any weights came
    if (!this.weighted || this.latest.policyVersion > rollout.policyVersion) rollout.setParams(this.latest.params[this.spec!.policyId], this.latest.policyVersion);
    this.weighted = true;
    const started = Date.now();
    try {
      const batch = await rollout.sampleAsync(
        () => this.heartbeatDue(),
        (steps, total) => {
          this.progress = { steps, total, stepsPerSecond: (steps / Math.max(1, Date.now() - started)) * 1000 };
          this.heartbeat();
        },
        () => this.stopped || this.pendingWelcome !== null || this.rollout !== rollout,
      );
      this.progress = null;
      if (this.pendingWelcome) return this.welcome(this.takeWelcome()); // a new learner, or ours starting over: this batch is no one's
      if (batch && this.rollout === rollout && this.workerId >= 0) await this.out.send(encode({ type: 'batch', workerId: this.workerId, instance: this.setup!.instance, batch }));
    } catch (err) {
      this.progress = null;
      if (this.pendingWelcome) return this.welcome(this.takeWelcome());
      if (this.rollout !== rollout) return;
      if (!(err instanceof EnvError)) throw err; // a bug of ours, not the env's
      // The env threw or broke its contract: drop the episode, recreate the envs (same policy), tell the learner.
      // A thrown error is the env's own text (its step is a field); a broken contract is ours, which names the field.
      const own = `env ${this.setup!.envId}: `; // the learner names the env itself (a shipped one's local id is a cache file)
      const text = err.field === 'threw' && err.cause instanceof Error ? err.cause.message : err.message.startsWith(own) ? err.message.slice(own.length) : err.message;
      void this.out.send(encode({ type: 'envError', workerId: this.workerId, envId: this.learnerEnvId, step: err.step ?? 0, message: text.slice(0, 2000) }));
      rollout.envs.close();
      this.incarnation += 1;
      const fresh = this.makeRollout(this.incarnation); // shares the policy, which keeps its weights
      fresh.continueFrom(rollout);
      this.rollout = fresh;
      this.requests.unshift(version);
    }
  }

  private takeWelcome(): Welcome {
    const w = this.pendingWelcome!;
    this.pendingWelcome = null;
    return w;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.workerId >= 0) void this.out.send(encode({ type: 'bye', workerId: this.workerId }));
    setTimeout(() => {
      this.dealer.close();
      this.sub?.close();
      this.rollout?.close();
      this.wake?.();
    }, 50);
  }
}
