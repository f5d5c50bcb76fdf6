import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { configToYaml } from '../config/load';
import { bundleEnvModule } from '../env-code/bundle';
import { keyFingerprint, serverCurveOptions, watchRefusedHandshakes, ZapAuthenticator, type KeyPair } from '../transport/curve';
import { bindOrExplain } from '../transport/endpoint';
import { SendQueue } from '../transport/send-queue';
import { DropCounter, MAX_TUNE_MESSAGE_BYTES, TUNE_PROTOCOL_VERSION, decodeAgentMessage, encodeTuneMessage, type AgentMessage, type ShippedTrialCode, type TunerMessage } from './agent-protocol';
import { packNewestCheckpoint, relocateEnv, unpackCheckpoint, writeAt } from './trial-files';
import { readTrialProgress } from './trial-progress';
import type { PlannedTrial, Running } from './trial';

/** Where the tuner takes trial agents (`rl tune --bind`). */
export interface AgentHubOptions {
  /** tcp://HOST:PORT. */
  bind: string;
  /** CURVE: the tuner's pair and the public keys of the agents allowed in; none on loopback without keys. */
  curve?: { pair: KeyPair; allowed: Set<string> };
  /** A module env's file: its code is bundled and shipped with each trial (over CURVE, to agents started with --accept-code). */
  envModule?: string;
  /** An agent silent this long is lost and its trials rescheduled (s; default 10). */
  timeoutSeconds?: number;
  /** The agents are the sweep's local runners (LocalRunners): they work in the sweep dir itself, so nothing is sent along with a trial. */
  local?: boolean;
  log: (line: string) => void;
}

/** An agent as the tuner knows it. */
export interface ConnectedAgent {
  id: Buffer;
  /** `agent NAME (pid N)`, or `local NAME (pid N)` for a local runner. */
  place: string;
  pid: number;
  slots: number;
  /** Started with --accept-code. */
  acceptsCode: boolean;
  lastHeard: number;
  /** Its trials, by attempt. */
  running: Map<number, Running>;
}

/**
 * The tuner's end of its trial agents: a ROUTER (CURVE and ZAP when keyed, as a learner's
 * --bind), the agents it has heard from and their free slots, and each remote trial's files
 * mirrored into the sweep dir as they come (trials/<id>/progress.jsonl and checkpoints/,
 * logs/<id>.log), so the sweep reads a remote trial as it reads a local one. An agent silent for
 * `timeoutSeconds` is lost: its trials end with `exit.lost`, for the sweep to run again from
 * the checkpoints it holds.
 */
export class AgentHub {
  private readonly router: zmq.Router;
  private readonly out: SendQueue;
  private readonly zap?: ZapAuthenticator;
  private readonly agents = new Map<string, ConnectedAgent>();
  private readonly drops: DropCounter;
  /** The env's code, shipped with each trial, when the env is a module and the link is CURVE. */
  private code: ShippedTrialCode | null = null;
  /** Attempts are numbered from the start time, so that a restarted tuner's never meet an earlier one's on an agent. */
  private nextAttempt = Date.now();

  constructor(
    private readonly opts: AgentHubOptions,
    private readonly dir: string,
  ) {
    this.drops = new DropCounter('tune', opts.log);
    const curve = opts.curve ? serverCurveOptions(opts.curve.pair) : {};
    this.router = new zmq.Router({ linger: 0, maxMessageSize: MAX_TUNE_MESSAGE_BYTES, ...curve });
    this.out = new SendQueue(this.router);
    if (opts.curve) {
      this.zap = new ZapAuthenticator(opts.curve.allowed, opts.log);
      watchRefusedHandshakes(this.router, opts.log);
    }
  }

  async start(): Promise<void> {
    await this.zap?.start();
    await bindOrExplain(this.router, this.opts.bind);
    await this.bundle();
    const key = this.opts.curve ? `, CURVE key ${keyFingerprint(this.opts.curve.pair.publicKey)}, ${this.opts.curve.allowed.size} agent key(s) allowed` : ', no CURVE';
    this.opts.log(`taking trial agents at ${this.opts.bind}${key}`);
    void this.listen();
  }

  /** A module env is bundled once; over CURVE only (no agent could prove who sent it otherwise). */
  private async bundle(): Promise<void> {
    const file = this.opts.envModule;
    if (!file) return;
    if (!this.opts.curve) {
      this.opts.log(`env code is not shipped to agents without CURVE: they load ${path.basename(file)} from the same path on their machine`);
      return;
    }
    const b = await bundleEnvModule(file);
    this.code = { sha256: b.sha256, source: b.source, file: path.basename(file) };
    this.opts.log(`env code for trial agents: ${path.basename(file)} bundled, ${(b.bytes / 1024).toFixed(1)} KiB, sha256 ${b.sha256.slice(0, 12)} (sent to agents started with --accept-code)`);
  }

  /** The agent with the most free slots, if any has one (and takes the shipped code, where there is code). */
  freeAgent(): ConnectedAgent | undefined {
    let best: ConnectedAgent | undefined;
    for (const a of this.agents.values()) {
      if (this.code && !a.acceptsCode) continue;
      const free = a.slots - a.running.size;
      if (free > 0 && (!best || free > best.slots - best.running.size)) best = a;
    }
    return best;
  }

  /** Sends trial `t` to `agent`, with what it resumes from (the sweep dir's copy of its progress.jsonl and newest checkpoint). */
  launch(t: PlannedTrial, agent: ConnectedAgent, onExit: () => void): Running {
    const runDir = path.join(this.dir, 'trials', t.id);
    const configText = configToYaml(t.config);
    fs.writeFileSync(path.join(this.dir, 'configs', `${t.id}.yaml`), configText);
    const logFile = path.join(this.dir, 'logs', `${t.id}.log`);
    const logOffset = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
    const progressFile = path.join(runDir, 'progress.jsonl');
    const checkpoint = this.opts.local ? null : (packNewestCheckpoint(runDir) ?? null);
    const attempt = this.nextAttempt++;
    const r: Running = {
      ...t,
      handle: { place: agent.place, stop: () => this.send(agent.id, { type: 'stop', attempt }) },
      startTime: Date.now() / 1000,
      rungs: {},
      progress: readTrialProgress('', ''),
      logOffset,
      attempt,
      onExit,
      ranOn: [...(t.ranOn ?? []), agent.place],
    };
    agent.running.set(attempt, r);
    const progress = !this.opts.local && fs.existsSync(progressFile) ? fs.readFileSync(progressFile) : null;
    this.send(agent.id, { type: 'run', attempt, trial: t.id, config: configText, progress, checkpoint, code: this.code });
    return r;
  }

  /** Agents silent past the timeout are lost: each of their trials ends with `exit.lost`. */
  checkLost(): void {
    const timeoutMs = (this.opts.timeoutSeconds ?? 10) * 1000;
    for (const [key, a] of this.agents) if (Date.now() - a.lastHeard > timeoutMs) this.drop(key, `silent for ${timeoutMs / 1000} s`);
  }

  /** The agent process `pid` is gone (a local runner that ended): lost now. */
  lose(pid: number): void {
    for (const [key, a] of this.agents) if (a.pid === pid) this.drop(key, 'its process ended');
  }

  private drop(key: string, why: string): void {
    const a = this.agents.get(key)!;
    this.agents.delete(key);
    const ids = [...a.running.values()].map((r) => r.id);
    this.opts.log(`${a.place} lost: ${why}${ids.length ? `; its trials ${ids.join(', ')} go elsewhere, from their last checkpoints` : ''}`);
    for (const r of a.running.values()) {
      r.exit = { code: null, signal: null, lost: true };
      r.onExit?.();
    }
  }

  /** Agents connected now, and their slots. */
  get slots(): number {
    return [...this.agents.values()].reduce((n, a) => n + a.slots, 0);
  }

  /** Closes the socket once what is queued (stop messages) has had `ms` to go out. */
  async close(ms = 200): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    const dropped = Object.entries(this.drops.total);
    if (dropped.length > 0) this.opts.log(`tune: malformed messages from agents dropped, by kind: ${dropped.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    this.router.close();
    this.zap?.stop();
  }

  private send(id: Buffer, msg: TunerMessage): void {
    void this.out.send([id, encodeTuneMessage(msg)]);
  }

  private async listen(): Promise<void> {
    try {
      for await (const [id, frame] of this.router) {
        const msg = this.drops.decode(decodeAgentMessage, frame);
        if (msg) this.handle(id, msg);
      }
    } catch (err) {
      if (!this.router.closed) throw err;
    }
  }

  private handle(id: Buffer, msg: AgentMessage): void {
    const key = id.toString('hex');
    let agent = this.agents.get(key);
    if (msg.type === 'heartbeat') {
      if (msg.version !== TUNE_PROTOCOL_VERSION) return this.send(id, { type: 'welcome', version: TUNE_PROTOCOL_VERSION });
      if (!agent) {
        agent = { id, place: `${this.opts.local ? 'local' : 'agent'} ${msg.name} (pid ${msg.pid})`, pid: msg.pid, slots: msg.slots, acceptsCode: msg.acceptsCode, lastHeard: Date.now(), running: new Map() };
        this.agents.set(key, agent);
        this.send(id, { type: 'welcome', version: TUNE_PROTOCOL_VERSION });
        const idle = this.code && !msg.acceptsCode ? `; it gets no trial: the env is code (${this.code.file}), which it runs only when started with --accept-code` : '';
        this.opts.log(`${agent.place} joined: ${msg.slots} slot(s)${idle}`);
      }
      agent.lastHeard = Date.now();
      agent.slots = msg.slots;
      this.send(id, { type: 'heartbeat' });
      // An attempt it runs that is not (or no longer) its: a lost agent come back, or an earlier tuner's.
      for (const attempt of msg.running) if (!agent.running.has(attempt)) this.send(id, { type: 'stop', attempt });
      return;
    }
    const r = agent?.running.get(msg.attempt);
    if (!agent || !r) return; // an attempt that was rescheduled since: its news is stale
    agent.lastHeard = Date.now();
    const runDir = path.join(this.dir, 'trials', r.id);
    switch (msg.type) {
      case 'file':
        if (msg.file === 'progress') writeAt(path.join(runDir, 'progress.jsonl'), msg.offset, msg.data);
        else writeAt(path.join(this.dir, 'logs', `${r.id}.log`), r.logOffset + msg.offset, msg.data);
        return;
      case 'checkpoint':
        // Named as the sweep's own config names the env: the agent's bundle of a module env lies elsewhere.
        unpackCheckpoint(runDir, this.code ? relocateEnv(msg.checkpoint, r.config.env) : msg.checkpoint);
        return;
      case 'ended':
        agent.running.delete(msg.attempt);
        r.exit = { code: msg.code, signal: msg.signal as NodeJS.Signals | null };
        r.onExit?.();
        return;
    }
  }
}
