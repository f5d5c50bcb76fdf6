import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { clientCurveOptions, type KeyPair } from '../transport/curve';
import { SendQueue } from '../transport/send-queue';
import { DropCounter, MAX_TUNE_MESSAGE_BYTES, TUNE_PROTOCOL_VERSION, TuneMessageRejected, decodeTunerMessage, encodeTuneMessage, type AgentMessage, type TunerMessage } from './agent-protocol';
import { storeShippedCode, withShippedEnv } from './agent-code';
import { FileFollower, packNewestCheckpoint, relocateEnv, unpackCheckpoint, writeAt } from './trial-files';
import { runTrialInProcess } from './in-process-trial';
import { spawnTrain } from './trial';

/** How `rl tune-agent` runs. */
export interface TrialAgentOptions {
  /** The tuner's --bind address. */
  connect: string;
  /** CURVE: this agent's pair and the tuner's public key (the only tuner it runs trials for). */
  curve?: { pair: KeyPair; tunerKey: string };
  /** Trials at once. */
  slots: number;
  /** `--accept-code`: run the env code the tuner ships (only over CURVE, to the --tuner-key given). */
  acceptCode?: boolean;
  /** Where each trial's run dir goes (one folder per trial and attempt, removed when it has ended). */
  workDir: string;
  /** Named to the tuner (default this host's name). */
  name?: string;
  /** Trials are stopped when the tuner is silent this long (s; default 30). */
  tunerTimeoutSeconds?: number;
  /** How often the trials' files are looked at and heartbeats go (ms; default 500). */
  pollMs?: number;
  /** The program and arguments before `train ...` (default this node and rl's cli.js). */
  rl?: string[];
  /**
   * A local runner of the tuner's (`rl tune` starts them): each trial runs in this process
   * (tfjs loaded once, trial after trial), in the sweep dir itself (`trials/<id>`, its log
   * appended to `logs/<id>.log`), so nothing is mirrored.
   */
  runner?: { sweepDir: string };
  log?: (line: string) => void;
}

interface AgentTrial {
  attempt: number;
  trial: string;
  runDir: string;
  /** Ends it after its iteration, with a checkpoint (SIGTERM to its process, or its abort). */
  stop(): void;
  /** Its files as they grow, to mirror (none for a runner's trial, which writes into the sweep dir). */
  progress?: FileFollower;
  log?: FileFollower;
  /** The newest checkpoint sent. */
  checkpoint?: string;
  exit?: { code: number | null; signal: string | null };
}

/**
 * A trial agent: connects to a tuner, says how many trials it takes at once, and runs each trial
 * the tuner sends as an `rl train --resume auto` child in a run dir of its own, mirroring its
 * progress.jsonl, log and each new checkpoint back to the tuner, until the tuner says stop or
 * the trial ends. A tuner silent for `tunerTimeoutSeconds` has its trials stopped (each ends
 * with a checkpoint; the tuner, once back, reschedules them from what it holds).
 */
export class TrialAgent {
  private readonly dealer: zmq.Dealer;
  private readonly out: SendQueue;
  private readonly trials = new Map<number, AgentTrial>();
  private readonly drops: DropCounter;
  private readonly log: (line: string) => void;
  private lastHeard = Date.now();
  private welcomed = false;
  private stopping = false;
  private done: () => void = () => {};
  /** Set when the tuner refused this agent's key: exit code 3. */
  refused = false;

  constructor(private readonly opts: TrialAgentOptions) {
    this.log = opts.log ?? ((l) => console.log(l));
    this.drops = new DropCounter('tune-agent', this.log);
    const curve = opts.curve ? clientCurveOptions(opts.curve.pair, opts.curve.tunerKey) : {};
    this.dealer = new zmq.Dealer({ linger: 0, sendHighWaterMark: 100, maxMessageSize: MAX_TUNE_MESSAGE_BYTES, ...curve });
    this.out = new SendQueue(this.dealer);
  }

  /** Runs until `stop()` (or the tuner refuses this agent's key). */
  async run(): Promise<void> {
    fs.mkdirSync(this.opts.workDir, { recursive: true });
    this.dealer.events.on('handshake:error:auth', () => {
      this.log(`tune-agent: the tuner at ${this.opts.connect} refused this agent's key (not in its --allowed-keys); stopping`);
      this.refused = true;
      this.stop();
    });
    this.dealer.events.on('handshake:error:protocol', (e) => this.log(`tune-agent: the handshake with ${this.opts.connect} failed (${e.error.code}); CURVE on one side only, or not an rl tune --bind address?`));
    this.dealer.connect(this.opts.connect);
    const ended = new Promise<void>((resolve) => (this.done = resolve));
    void this.listen();
    this.tick();
    const timer = setInterval(() => this.tick(), this.opts.pollMs ?? 500);
    await ended;
    clearInterval(timer);
    for (const t of this.trials.values()) if (!t.exit) t.stop();
    while ([...this.trials.values()].some((t) => !t.exit)) await new Promise((r) => setTimeout(r, 50));
    this.tick(); // the last of their files, and their ends
    await new Promise((r) => setTimeout(r, 200));
    const dropped = Object.entries(this.drops.total);
    if (dropped.length > 0) this.log(`tune-agent: malformed messages dropped, by kind: ${dropped.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    this.dealer.close();
  }

  /** Stops the running trials (each ends with a checkpoint, which goes to the tuner) and ends `run()`; safe to call twice. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.done();
  }

  /** Shipped code runs only where the owner said so, over CURVE to the tuner key given. */
  private get acceptsCode(): boolean {
    return (this.opts.acceptCode ?? false) && this.opts.curve !== undefined;
  }

  private send(msg: AgentMessage): void {
    void this.out.send(encodeTuneMessage(msg));
  }

  private async listen(): Promise<void> {
    try {
      for await (const [frame] of this.dealer) {
        const msg = this.drops.decode(decodeTunerMessage, frame);
        if (!msg) continue;
        this.lastHeard = Date.now();
        this.handle(msg);
      }
    } catch (err) {
      if (!this.dealer.closed) throw err;
    }
  }

  private handle(msg: TunerMessage): void {
    switch (msg.type) {
      case 'welcome':
        if (msg.version !== TUNE_PROTOCOL_VERSION) {
          this.log(`tune-agent: the tuner speaks protocol ${msg.version}, this agent ${TUNE_PROTOCOL_VERSION}; run the same rl version on both; stopping`);
          this.stop();
        } else if (!this.welcomed) {
          this.welcomed = true;
          this.log(`tune-agent: connected to the tuner at ${this.opts.connect}; taking ${this.opts.slots} trial(s) at once`);
        }
        return;
      case 'heartbeat':
        return;
      case 'run':
        return this.start(msg);
      case 'stop': {
        const t = this.trials.get(msg.attempt);
        if (t && !t.exit) t.stop();
        return;
      }
      default:
        this.drops.drop(new TuneMessageRejected('unknown type', 'unhandled'));
    }
  }

  private start(msg: Extract<TunerMessage, { type: 'run' }>): void {
    if (this.stopping || this.trials.has(msg.attempt)) return;
    const t = this.opts.runner ? this.startHere(msg, this.opts.runner.sweepDir) : this.startChild(msg);
    if (!t) return;
    this.trials.set(msg.attempt, t);
    this.log(`tune-agent: trial ${msg.trial} started${msg.checkpoint ? ` from ${msg.checkpoint.name}` : ''}`);
  }

  /** A runner's trial: `train()` in this process, in the sweep dir's run dir of the trial. */
  private startHere(msg: Extract<TunerMessage, { type: 'run' }>, sweepDir: string): AgentTrial {
    const base = path.join(this.opts.workDir, `${msg.trial}.${msg.attempt}`);
    fs.mkdirSync(base, { recursive: true });
    const configFile = path.join(base, 'config.yaml');
    fs.writeFileSync(configFile, msg.config);
    const abort = new AbortController();
    const t: AgentTrial = { attempt: msg.attempt, trial: msg.trial, runDir: path.join(sweepDir, 'trials', msg.trial), stop: () => abort.abort() };
    void runTrialInProcess(configFile, t.runDir, path.join(sweepDir, 'logs', `${msg.trial}.log`), abort.signal).then((code) => {
      fs.rmSync(base, { recursive: true, force: true });
      t.exit = { code, signal: abort.signal.aborted ? 'SIGTERM' : null };
      this.tick(); // its end at once: the next trial waits for this slot
    });
    return t;
  }

  /** A trial as an `rl train` child in a run dir of its own, its files mirrored to the tuner. */
  private startChild(msg: Extract<TunerMessage, { type: 'run' }>): AgentTrial | undefined {
    const base = path.join(this.opts.workDir, `${msg.trial}.${msg.attempt}`);
    const runDir = path.join(base, 'run');
    fs.rmSync(base, { recursive: true, force: true });
    fs.mkdirSync(runDir, { recursive: true });
    const configFile = path.join(base, 'config.yaml');
    let config = msg.config;
    let checkpoint = msg.checkpoint;
    if (msg.code) {
      if (!this.acceptsCode) {
        this.log(`tune-agent: trial ${msg.trial} refused: the tuner ships env code (${msg.code.file}), which this agent runs only when started with --accept-code over CURVE`);
        return undefined;
      }
      const file = storeShippedCode(this.opts.workDir, msg.code, this.log);
      if (!file) return undefined;
      const shipped = withShippedEnv(config, file);
      config = shipped.yaml;
      if (checkpoint) checkpoint = relocateEnv(checkpoint, shipped.env); // it resumes with the env as this machine names it
    }
    if (msg.progress) writeAt(path.join(runDir, 'progress.jsonl'), 0, msg.progress);
    if (checkpoint) unpackCheckpoint(runDir, checkpoint);
    fs.writeFileSync(configFile, config);
    const logFile = path.join(base, 'train.log');
    const child = spawnTrain(this.opts.rl, configFile, runDir, logFile);
    const t: AgentTrial = { attempt: msg.attempt, trial: msg.trial, runDir, stop: () => child.kill('SIGTERM'), progress: new FileFollower(path.join(runDir, 'progress.jsonl')), log: new FileFollower(logFile), checkpoint: msg.checkpoint?.name };
    child.once('exit', (code, signal) => (t.exit = { code, signal }));
    child.once('error', () => (t.exit = { code: null, signal: null }));
    return t;
  }

  /** Heartbeat, the tuner's silence, and each trial's news: file ranges, a new checkpoint, its end. */
  private tick(): void {
    const timeout = (this.opts.tunerTimeoutSeconds ?? 30) * 1000;
    const running = [...this.trials.values()].filter((t) => !t.exit);
    if (Date.now() - this.lastHeard > timeout && running.length > 0 && !this.stopping) {
      this.log(`tune-agent: the tuner has been silent for ${timeout / 1000} s; stopping its ${running.length} trial(s) (each ends with a checkpoint)`);
      for (const t of running) t.stop();
      this.lastHeard = Date.now();
    }
    // Who this agent is goes with every heartbeat: a tuner started (or restarted) later learns it from the next one.
    this.send({ type: 'heartbeat', version: TUNE_PROTOCOL_VERSION, name: this.opts.name ?? os.hostname(), pid: process.pid, slots: this.opts.slots, running: running.map((t) => t.attempt), acceptsCode: this.acceptsCode });
    for (const t of [...this.trials.values()]) {
      const exited = t.exit; // read before the files: what the trial wrote before it ended is sent first
      if (t.progress && t.log) mirrorNews(t, (m) => this.send(m));
      if (exited) {
        this.send({ type: 'ended', attempt: t.attempt, code: exited.code, signal: exited.signal });
        this.log(`tune-agent: trial ${t.trial} ended (${exited.signal ?? `exit code ${exited.code}`})`);
        this.trials.delete(t.attempt);
        if (!this.opts.runner) fs.rmSync(path.dirname(t.runDir), { recursive: true, force: true });
      }
    }
  }
}

/** What the trial wrote since the last look: its files' new ranges, its newest checkpoint. */
function mirrorNews(t: AgentTrial, send: (m: AgentMessage) => void): void {
  for (const [file, follower] of [['progress', t.progress!], ['log', t.log!]] as const) {
    for (let chunk = follower.next(); chunk; chunk = follower.next()) send({ type: 'file', attempt: t.attempt, file, offset: chunk.offset, data: chunk.data });
  }
  const ckpt = packNewestCheckpoint(t.runDir, t.checkpoint);
  if (ckpt) {
    t.checkpoint = ckpt.name;
    send({ type: 'checkpoint', attempt: t.attempt, checkpoint: ckpt });
  }
}
