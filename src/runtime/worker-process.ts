import * as os from 'node:os';
import type * as zmq from 'zeromq';
import { algorithmNamed, algorithms } from '../../algorithms';
import { DEFAULT_POLICY, type PolicySpec, type SamplingPolicy } from '../../core/algorithm';
import { EnvError } from '../../core/errors';
import type { EnvTrust } from '../env-loader';
import { PACKAGE_VERSION } from '../version';
import type { ForwardEngine } from '../../core/forward';
import { policyOn, type InferenceChoice } from '../inference/engine';
import { RolloutWorker } from './rollout-worker';
import { MultiAgentRollout } from './multi-agent/worker-rollout';
import { SingleAgentRollout, type Answer, type Incoming, type WorkerRollout } from './worker-rollout';
import { weightsProblem, type WeightShape } from './weights-check';
import { WorkerEnvCode, type AskedCode, type EnvOutcome } from './worker-env';
import { LearnerLink } from './worker-link';
import { keyFingerprint, type KeyPair } from '../transport/curve';
import { MAX_MODEL_PARAMS, WEIGHTS_ASK_MS, type LearnerMessage, type SamplingProgress, type WorkerSetup } from '../transport/protocol';

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
  /** `--inference`: what runs the policy's forward pass, and the engine it loaded (undefined: tfjs). */
  inference?: { choice: InferenceChoice; engine: ForwardEngine | undefined };
  log: (line: string) => void;
}

type Welcome = Extract<LearnerMessage, { type: 'welcome' }>;

/** Weights that came by request with none by broadcast since the welcome: this many, and the worker says the PUB port looks unreachable. */
const REQUESTS_BEFORE_PUB_WARNING = 2;

/** A run this worker joined: everything its welcome set up, closed when the worker leaves it (never mid-batch). */
interface Run {
  readonly workerId: number;
  /** The learner's setup, its envId as loaded here (a shipped env's: the cache file). */
  readonly setup: WorkerSetup;
  /** The env as the learner names it, for what this worker tells it. */
  readonly learnerEnvId: string;
  /** The policy this worker runs (a single-agent env's: `default`; a multi-agent run's: the trained one, whose spec every network policy shares). */
  readonly spec: PolicySpec;
  /** The tensors of each policy id's model: its weights must be exactly these (a policy the setup does not name plays with `spec`'s model: a frozen one, a snapshot). */
  readonly expected: (policyId: string) => WeightShape[];
  rollout: WorkerRollout;
  /** The learner's weights broadcast (PUB). */
  readonly sub: zmq.Subscriber;
  /** Sample requests (policy versions), oldest first. */
  requests: number[];
  /** The newest weights checked and not yet swapped in: that happens only between batches. */
  latest: Incoming | null;
  readonly weightsBy: { broadcast: number; request: number };
  /** Recreations of the envs after an env threw (each gets fresh env seeds). */
  incarnation: number;
}

/**
 * Where the worker is. `connecting`: hello sent, no welcome. `awaitingCode`: the welcome's env
 * code asked for by sha256. `awaitingWeights`: a run built, waiting for weights of at least
 * `version` (after a welcome, or for a sample request), asking every 2 s. `ready`: a run with
 * weights, no request it can serve. `sampling`: a batch in progress; whatever would leave the
 * run waits in `after` until the batch is abandoned. `refused`, `closed`: the end.
 */
type State =
  | { name: 'connecting' }
  | { name: 'awaitingCode'; welcome: Welcome; code: AskedCode; requests: number[] }
  | { name: 'awaitingWeights'; run: Run; version: number; why: 'welcome' | 'sample'; timer: NodeJS.Timeout }
  | { name: 'ready'; run: Run }
  | { name: 'sampling'; run: Run; progress: SamplingProgress | null; after: { then: (requests: number[]) => void; requests: number[] } | null }
  | { name: 'refused' }
  | { name: 'closed' };

type Sampling = Extract<State, { name: 'sampling' }>;

/**
 * The learner messages each state takes; any other is dropped (env code with a line: this
 * worker did not ask for it). A `heartbeat` only says the learner is there.
 */
const TAKES: Record<State['name'], readonly LearnerMessage['type'][]> = {
  connecting: ['welcome'],
  awaitingCode: ['welcome', 'sample', 'code', 'unknownWorker'],
  awaitingWeights: ['welcome', 'sample', 'weights', 'unknownWorker'],
  ready: ['welcome', 'sample', 'weights', 'unknownWorker'],
  sampling: ['welcome', 'sample', 'weights', 'unknownWorker'],
  refused: [],
  closed: [],
};

function runOf(s: State): Run | null {
  return 'run' in s ? s.run : null;
}

/**
 * `rl worker`: connects to a learner, receives everything it needs (env, model, seeds), asks
 * for the weights, and answers each sample request with one trajectory batch. It swaps in new
 * weights only between batches. If the learner goes away it keeps trying (ZeroMQ reconnects)
 * and starts over with whichever learner answers. Nothing a learner sends makes it crash:
 * a malformed message is dropped and counted, a run it cannot do is refused in one line.
 */
export class WorkerProcess {
  private readonly link: LearnerLink;
  private readonly env: WorkerEnvCode;
  private state: State = { name: 'connecting' };
  /** Set by stop() or a refusal: the state it ends in, once no batch is being sampled. */
  private ending: 'closed' | 'refused' | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private lastHeartbeat = 0;
  /** The learner instance last joined: a new one (a new run, or a restarted learner) is one log line. */
  private joined = '';
  private readonly ended: Promise<void>;
  private settle!: { resolve: () => void; reject: (err: unknown) => void };

  constructor(private readonly opts: WorkerProcessOptions) {
    this.ended = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.link = new LearnerLink({
      connect: opts.connect,
      curve: opts.curve,
      log: opts.log,
      onMessage: (msg, sub) => this.dispatch(msg, sub),
      onFatal: () => {
        process.exitCode = 3;
        this.stop();
      },
      onError: (err) => this.settle.reject(err),
    });
    this.env = new WorkerEnvCode({ acceptCode: opts.acceptCode ?? false, authenticated: opts.curve !== undefined, insecure: opts.insecure ?? false, trust: opts.trust }, opts.cacheDir);
  }

  /** Runs until stop(), a refusal or a misconfiguration; rejects only on a bug of ours. */
  async run(): Promise<void> {
    this.link.connect();
    this.hello();
    this.ticker = setInterval(() => this.tick(), 1000);
    return this.ended;
  }

  /** Leaves whatever it does (a batch is abandoned at its next pause), says bye, closes. Safe to call twice. */
  stop(): void {
    this.end('closed');
  }

  // ---- Messages in ----

  /** One message, as the current state takes it (`TAKES`). */
  private dispatch(msg: LearnerMessage, sub: zmq.Subscriber | null): void {
    const s = this.state;
    if (this.ending) return;
    if (sub && (msg.type !== 'weights' || runOf(s)?.sub !== sub)) return; // the broadcast carries weights, and a closed run's are no one's
    if (!TAKES[s.name].includes(msg.type)) {
      if (msg.type === 'code') this.link.warnOnce('unasked-code', 'worker: dropped env code this worker did not ask for (further ones are not shown)');
      return;
    }
    switch (msg.type) {
      case 'welcome':
        // A new learner, or ours starting over: what was asked before is the old run's.
        return this.afterBatch((requests) => this.join(msg, requests));
      case 'sample':
        return this.sampleRequested(msg.policyVersion);
      case 'weights':
        return this.weightsArrived(msg, sub ? 'broadcast' : 'request');
      case 'code':
        return this.codeArrived(s as Extract<State, { name: 'awaitingCode' }>, msg.sha256, Buffer.from(msg.source.buffer, msg.source.byteOffset, msg.source.length));
      case 'unknownWorker':
        // A new learner, or one that gave up on us: introduce ourselves again, once (each of
        // our messages it dropped is answered so).
        return this.afterBatch(() => this.reintroduce());
    }
  }

  // ---- Transitions ----

  /** Enters `next`: the old state's timer is cleared, and its run closed unless `next` holds it. A batch in progress is left only for `ready`. */
  private to(next: State): void {
    const prev = this.state;
    const run = runOf(prev);
    if (prev.name === 'sampling' && !(next.name === 'ready' && next.run === run)) throw new Error(`worker: left a batch in progress for ${next.name}`);
    if (prev.name === 'awaitingWeights') clearInterval(prev.timer);
    if (run && runOf(next) !== run) {
      run.sub.close();
      run.rollout.close();
    }
    this.state = next;
  }

  /** Runs `then` now, or, while a batch is being sampled, once it is abandoned (the sample requests since then are handed on). */
  private afterBatch(then: (requests: number[]) => void): void {
    const s = this.state;
    if (s.name === 'sampling') s.after = { then, requests: [] };
    else then([]);
  }

  /** Forgets the run, and says hello; the next welcome starts us over. */
  private reintroduce(): void {
    this.to({ name: 'connecting' });
    this.hello();
  }

  /**
   * A learner's welcome: its env resolved (registered, a local file, or shipped code, from the
   * cache or asked for), then the run built; or refused with one line, sent to the learner too.
   */
  private join(msg: Welcome, requests: number[]): void {
    const version = msg.setup.packageVersion;
    if (version !== PACKAGE_VERSION) this.link.warnOnce(`version:${version}`, `worker: this worker runs rl-zmq ${PACKAGE_VERSION}, the learner ${version}; install the learner's version here if anything fails`);
    const env = this.env.resolve(msg.setup);
    if (env.kind !== 'ask') return this.start(msg, env, requests);
    // Let go of the old run now: its rollout must not answer the new learner's requests.
    this.to({ name: 'awaitingCode', welcome: msg, code: env.code, requests });
    this.link.send({ type: 'codeRequest', workerId: msg.workerId, sha256: env.code.sha256 });
  }

  /** Code from the learner: used only if it is what this worker asked for (the cache checks the sha256 of the bytes). */
  private codeArrived(s: Extract<State, { name: 'awaitingCode' }>, sha256: string, source: Buffer): void {
    if (s.code.sha256 !== sha256) return this.link.warnOnce('unasked-code', 'worker: dropped env code this worker did not ask for (further ones are not shown)');
    this.start(s.welcome, this.env.received(s.code, source), s.requests);
  }

  /** Builds the run, then asks for its weights; a setup this worker cannot run is refused. */
  private start(msg: Welcome, env: EnvOutcome, requests: number[]): void {
    if (env.kind === 'refuse') return this.refuse(msg.workerId, env.reason);
    let run: Run;
    try {
      run = this.build(msg, env.envId, requests);
    } catch (err) {
      // e.g. an algorithm this version lacks, or an env that fails to build
      return this.refuse(msg.workerId, (err as Error).message);
    }
    const s = msg.setup;
    const key = this.opts.curve ? `learner key ${keyFingerprint(this.opts.curve.learnerKey)}` : 'no CURVE';
    if (this.joined !== s.instance) {
      this.joined = s.instance;
      this.opts.log(`worker ${msg.workerId}: joined a run of the learner at ${this.opts.connect} (${key}): env ${s.envId}, ${env.how}, ${s.numEnvs} envs x ${s.rolloutLength} steps per batch`);
    } else {
      this.opts.log(`worker ${msg.workerId}: rejoined the same run`);
    }
    // A welcome carries no weights (an unauthenticated hello must not buy them): asked for now.
    this.awaitWeights(run, 0, 'welcome', true);
  }

  /** The run a welcome describes: policy, envs, weights socket. Throws what refuses the setup, before this worker lets go of what it runs. */
  private build(msg: Welcome, envId: string, requests: number[]): Run {
    const multiAgent = msg.setup.multiAgent;
    const spec = msg.setup.policies[multiAgent?.trained[0] ?? DEFAULT_POLICY];
    if (!spec) throw new EnvError(`the learner's run has no policy '${DEFAULT_POLICY}' for this single-agent env (it has ${Object.keys(msg.setup.policies).join(', ')})`);
    const algorithm = algorithmNamed(spec.algorithm);
    if (!algorithm) throw new EnvError(`the learner's algorithm '${spec.algorithm}' is not one this worker's version has (${Object.keys(algorithms).join(', ')}); run the learner's version here`);
    const shapes = Object.fromEntries(Object.entries(msg.setup.policies).map(([id, sp]) => [id, algorithm.weightShapes(sp)]));
    const expected = (id: string) => shapes[id] ?? shapes[spec.policyId];
    const size = Math.max(...Object.values(shapes).map((s) => s.reduce((a, t) => a + t.shape.reduce((x, d) => x * d, 1), 0)));
    if (size > MAX_MODEL_PARAMS) throw new EnvError(`the learner's model has ${size} parameters, more than the ${MAX_MODEL_PARAMS} whose weights fit in one message`);
    const setup = { ...msg.setup, envId };
    const inference = this.opts.inference ?? { choice: 'tfjs', engine: undefined };
    const where = { workerId: msg.workerId, envId, envConfig: setup.envConfig, numEnvs: setup.numEnvs, rolloutLength: setup.rolloutLength, seed: setup.seed };
    // A multi-agent run's policies (the trained one, frozen ones, snapshots) come and go with the weights messages: each built as they name it.
    // Every network policy runs on the inference engine chosen (`--inference`), as a single-agent env's one does.
    const createPolicy = (sp: PolicySpec) => policyOn(inference.choice, inference.engine, sp, { slot: setup.slot, numSlots: setup.numSlots }, (p, ctx) => algorithm.createPolicy(p, ctx), this.opts.log);
    const rollout: WorkerRollout = multiAgent ? new MultiAgentRollout({ ...where, policies: setup.policies, multiAgent, createPolicy }) : this.singleAgent(where, spec, createPolicy);
    const sub = this.link.subscribe(setup.pubEndpoint);
    return { workerId: msg.workerId, setup, learnerEnvId: msg.setup.envId, spec, expected, rollout, sub, requests, latest: null, weightsBy: { broadcast: 0, request: 0 }, incarnation: 0 };
  }

  /** A single-agent env's rollout: its one policy. */
  private singleAgent(where: Omit<ConstructorParameters<typeof RolloutWorker>[0], 'policy' | 'spec'>, spec: PolicySpec, createPolicy: (spec: PolicySpec) => SamplingPolicy): WorkerRollout {
    const policy = createPolicy(spec);
    try {
      return new SingleAgentRollout(new RolloutWorker({ ...where, policy, spec }));
    } catch (err) {
      policy.dispose();
      throw err;
    }
  }

  /** Waits for weights of at least `version`, asking the learner now (`askNow`) and again every 2 s. */
  private awaitWeights(run: Run, version: number, why: 'welcome' | 'sample', askNow: boolean): void {
    const ask = () => this.link.send({ type: 'weightsRequest', workerId: run.workerId });
    if (askNow) ask();
    this.to({ name: 'awaitingWeights', run, version, why, timer: setInterval(ask, WEIGHTS_ASK_MS) });
  }

  /**
   * Weights, however they came (a reply to a request, the broadcast): checked
   * against this run's policy first. Another model's refuses the run; non-finite ones are
   * dropped; the newest are kept, and swapped in only between batches.
   */
  private weightsArrived(msg: Incoming, by: 'request' | 'broadcast'): void {
    const s = this.state;
    const run = runOf(s);
    if (!run) return;
    const { ids, missing } = run.rollout.networks(msg.params);
    if (missing !== undefined) return this.refuse(run.workerId, `the learner's params (policy version ${msg.policyVersion}) hold no policy '${missing}'`);
    for (const id of ids) {
      const problem = weightsProblem(run.expected(id), msg.params[id].weights);
      if (problem?.kind === 'nonFinite') return this.link.drop('nonFinite', `weights of policy version ${msg.policyVersion}: ${problem.message}`, by === 'broadcast');
      if (problem) return this.refuse(run.workerId, `the learner's weights (policy version ${msg.policyVersion}) are not those of the policy its setup describes: ${problem.message}`);
    }
    if (!run.latest || msg.policyVersion > run.latest.policyVersion) run.latest = msg;
    // The weights asked for on a welcome come by request whatever the network: only later ones say the broadcast is missing.
    if (by === 'broadcast' || (by === 'request' && !(s.name === 'awaitingWeights' && s.why === 'welcome'))) this.countWeights(run, by);
    if (s.name === 'awaitingWeights' && msg.policyVersion >= s.version) {
      const latest = run.latest;
      run.rollout.setParams(latest);
      run.latest = null;
      this.to({ name: 'ready', run });
      this.next();
    }
  }

  private countWeights(run: Run, by: 'request' | 'broadcast'): void {
    run.weightsBy[by] += 1;
    if (by === 'request' && run.weightsBy.broadcast === 0 && run.weightsBy.request >= REQUESTS_BEFORE_PUB_WARNING) {
      this.link.warnOnce(
        'pub',
        `worker: new weights reach this worker only when it asks for them (${run.weightsBy.request} times, none broadcast): the learner's weights port ` +
          `${this.link.pubEndpoint(run.setup.pubEndpoint)} looks unreachable from here (a firewall?); each new policy now waits 2 s`,
      );
    }
  }

  private sampleRequested(version: number): void {
    const s = this.state;
    if (s.name === 'awaitingCode') return void s.requests.push(version);
    if (s.name === 'sampling' && s.after) return void s.after.requests.push(version); // the next run's
    runOf(s)?.requests.push(version);
    this.next();
  }

  /** In `ready`: the oldest request sampled, once weights of its version are here (else waited for). */
  private next(): void {
    const s = this.state;
    if (s.name !== 'ready') return;
    const run = s.run;
    const version = run.requests[0];
    if (version === undefined) return;
    if (Math.max(run.latest?.policyVersion ?? -1, run.rollout.policyVersion) < version) return this.awaitWeights(run, version, 'sample', false);
    run.requests.shift();
    if (run.latest && run.latest.policyVersion > run.rollout.policyVersion) run.rollout.setParams(run.latest);
    run.latest = null;
    this.sample(run, version).catch((err: unknown) => this.settle.reject(err));
  }

  /** One batch, sent; abandoned (and not sent) when the worker stops or leaves the run meanwhile. */
  private async sample(run: Run, version: number): Promise<void> {
    const s: Sampling = { name: 'sampling', run, progress: null, after: null };
    this.to(s);
    const abandon = () => this.ending !== null || s.after !== null;
    const started = Date.now();
    let answer: Answer | null = null;
    let failed: EnvError | null = null;
    try {
      answer = await run.rollout.sampleAsync(
        () => this.heartbeatDue() || abandon(),
        (steps, total) => {
          s.progress = { steps, total, stepsPerSecond: (steps / Math.max(1, Date.now() - started)) * 1000 };
          this.heartbeat();
        },
        abandon,
      );
    } catch (err) {
      if (!(err instanceof EnvError)) throw err; // a bug of ours, not the env's
      failed = err;
    }
    this.to({ name: 'ready', run }); // the batch is over: the run may be left now
    if (this.ending) return this.finish();
    if (s.after) return s.after.then(s.after.requests); // a new learner, or ours starting over: this batch is no one's
    // An action its mask forbids is the policy's fault, not the env's: new envs would not help.
    if (failed?.field === 'action') return this.refuse(run.workerId, failed.message);
    if (failed) this.envFailed(run, failed, version);
    else if (answer) this.link.send({ ...answer, workerId: run.workerId, instance: run.setup.instance });
    this.next();
  }

  /** The env threw or broke its contract: the episode dropped, the envs recreated (same policy), the learner told, the request kept. */
  private envFailed(run: Run, err: EnvError, version: number): void {
    // A thrown error is the env's own text (its step is a field); a broken contract is ours, which names the field.
    const own = `env ${run.setup.envId}: `; // the learner names the env itself (a shipped one's local id is a cache file)
    const text = err.field === 'threw' && err.cause instanceof Error ? err.cause.message : err.message.startsWith(own) ? err.message.slice(own.length) : err.message;
    this.link.send({ type: 'envError', workerId: run.workerId, envId: run.learnerEnvId, step: err.step ?? 0, message: text.slice(0, 2000) });
    try {
      run.rollout = run.rollout.recreate(run.incarnation + 1);
    } catch (e) {
      return this.refuse(run.workerId, `env ${run.learnerEnvId} failed to build again after it threw: ${(e as Error).message}`); // closes the old rollout and the policy
    }
    run.incarnation += 1;
    run.requests.unshift(version);
  }

  // ---- The end ----

  /** One line here and to the learner; then this worker stops (exit code 4): it cannot run what is asked. */
  private refuse(workerId: number, reason: string): void {
    if (this.ending) return;
    this.opts.log(`worker: refusing the learner's run: ${reason}`);
    this.link.send({ type: 'refused', workerId, reason: reason.slice(0, 2000) });
    process.exitCode = 4;
    this.end('refused'); // the refusal says goodbye
  }

  private end(how: 'closed' | 'refused'): void {
    if (this.ending) return;
    if (how === 'closed' && this.workerId >= 0) this.link.send({ type: 'bye', workerId: this.workerId });
    this.ending = how;
    if (this.ticker) clearInterval(this.ticker);
    if (this.state.name !== 'sampling') this.finish(); // else when the batch is abandoned
  }

  /** Closes the run and, once the bye or refusal is out, the link; then run() returns. */
  private finish(): void {
    this.to({ name: this.ending ?? 'closed' });
    void this.link.close().then(this.settle.resolve, this.settle.reject);
  }

  // ---- Hello and heartbeats ----

  private get workerId(): number {
    const s = this.state;
    return s.name === 'awaitingCode' ? s.welcome.workerId : (runOf(s)?.workerId ?? -1);
  }

  private heartbeatSeconds(): number {
    const s = this.state;
    return (s.name === 'awaitingCode' ? s.welcome.setup : runOf(s)?.setup)?.heartbeatSeconds ?? 1;
  }

  private hello(): void {
    this.link.send({ type: 'hello', host: os.hostname(), pid: process.pid, numEnvs: this.opts.numEnvs ?? null, slot: this.opts.slot ?? null });
  }

  private heartbeatDue(): boolean {
    return Date.now() - this.lastHeartbeat >= this.heartbeatSeconds() * 1000;
  }

  /** One heartbeat, with where the batch being sampled is (the learner sees a slow worker, not a hung one). */
  private heartbeat(): void {
    this.lastHeartbeat = Date.now();
    const s = this.state;
    if (this.workerId < 0 || this.link.pending > 0) return; // the learner is not reading: don't pile up
    const sampling = s.name === 'sampling' ? s.progress : null;
    this.link.send({ type: 'heartbeat', workerId: this.workerId, policyVersion: runOf(s)?.rollout.policyVersion ?? 0, sampling });
  }

  private tick(): void {
    const timeout = this.heartbeatSeconds() * 10;
    if (this.heartbeatDue()) this.heartbeat();
    if (this.link.pending > 0 && this.workerId >= 0) return; // the learner is not reading: don't pile up hellos
    if (Date.now() - this.link.lastHeard > timeout * 1000) {
      this.opts.log(`worker: no word from the learner at ${this.opts.connect} for ${timeout} s${this.link.silenceHint()}; still trying`);
      this.link.lastHeard = Date.now();
      this.afterBatch(() => this.reintroduce()); // a batch mid-way is never sent
    }
  }
}
