/**
 * `node dist/bench/run.js broadcast`: the weight broadcast to K subscribers. A PUB socket with
 * the pool's options (tcp on loopback, as remote workers connect) sends `encode`d weights; K
 * SUB sockets in two child processes decode each with the real `decodeLearnerMessage` and say
 * so over PUSH. All times are on the parent's clock: from the send to the last report
 * received, so they include one small message's trip back (tens of microseconds on loopback).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { ppo } from '../algorithms/ppo/ppo';
import { DEFAULT_POLICY, type ModelConfig, type Weights } from '../core/algorithm';
import { makeEnv } from '../envs';
import { selectBackend } from '../src/backend';
import { loadConfig } from '../src/config/load';
import { encode } from '../src/transport/protocol';
import { freePort } from '../test/helpers/free-port';
import { median, writeBenchJson } from './bench-json';

const root = path.resolve(__dirname, '..', '..');
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SUBSCRIBERS = [1, 16, 64, 256];
const PROCESSES = 2;
/** Versions from here on are measured; below it, warm-up messages (ZeroMQ drops what a subscriber sends before it has joined). */
const MEASURED = 1_000_000;

export interface BroadcastRow {
  net: string;
  parameters: number;
  messageBytes: number;
  subscribers: number;
  broadcasts: number;
  encodeMs: number;
  firstDecodedMs: number;
  lastDecodedMs: number;
  /** One subscriber's decodeLearnerMessage of the message (median over all of them), wall time: inflated on a loaded machine. */
  decodeMs: number;
  /** The same in its process's CPU time (every thread: what libzmq receives meanwhile counts too). */
  decodeCpuMs: number;
}

/** Reports from the subscribers, by policy version; `until(v)` resolves once all have decoded it. */
class Arrivals {
  readonly byVersion = new Map<number, { n: number; first: number; last: number; decodeMs: number[]; decodeCpuMs: number[] }>();
  readonly seen = new Set<number>();
  private waiting: { version: number; resolve: () => void } | null = null;

  constructor(private readonly subscribers: number) {}

  report(line: string, at: number): void {
    const [index, version, ms, cpuMs] = line.split(' ').map(Number);
    this.seen.add(index);
    const a = this.byVersion.get(version) ?? { n: 0, first: at, last: at, decodeMs: [], decodeCpuMs: [] };
    a.n += 1;
    a.last = at;
    a.decodeMs.push(ms);
    a.decodeCpuMs.push(cpuMs);
    this.byVersion.set(version, a);
    if (this.waiting && version === this.waiting.version && a.n === this.subscribers) this.waiting.resolve();
  }

  async until(version: number, ms: number): Promise<void> {
    if ((this.byVersion.get(version)?.n ?? 0) >= this.subscribers) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.waiting = { version, resolve };
        timer = setTimeout(() => reject(new Error(`broadcast bench: ${this.byVersion.get(version)?.n ?? 0} of ${this.subscribers} subscribers decoded version ${version} in ${ms / 1000} s`)), ms);
      });
    } finally {
      clearTimeout(timer);
      this.waiting = null;
    }
  }
}

function ppoWeights(model: ModelConfig): Weights {
  const env = makeEnv('CartPole-v1');
  const cfg = loadConfig(path.join(root, 'configs/ppo-cartpole.yaml'));
  const algo = ppo.create({ config: cfg.ppo, model, observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec(), seed: 0, totalEnvs: 1, rolloutLength: 1 });
  env.close();
  const weights = algo.getParams()[DEFAULT_POLICY].weights;
  algo.dispose();
  return weights;
}

async function measureK(K: number, nets: { net: string; weights: Weights; broadcasts: number }[]): Promise<BroadcastRow[]> {
  const pubEndpoint = `tcp://127.0.0.1:${await freePort()}`;
  const reportEndpoint = `ipc://${path.join(os.tmpdir(), `rl-bench-broadcast-${process.pid}-${K}`)}`;
  const pub = new zmq.Publisher({ linger: 0, sendHighWaterMark: 100 }); // the pool's PUB options
  const pull = new zmq.Pull({ linger: 0 });
  await pub.bind(pubEndpoint);
  await pull.bind(reportEndpoint);
  const arrivals = new Arrivals(K);
  void (async () => {
    for await (const [frame] of pull) arrivals.report(frame.toString(), performance.now());
  })().catch(() => {}); // closed at the end
  const children: ChildProcess[] = [];
  let stopping = false;
  let childFailed = '';
  try {
    const processes = Math.min(PROCESSES, K);
    let first = 0;
    for (let p = 0; p < processes; p++) {
      const sockets = Math.floor(K / processes) + (p < K % processes ? 1 : 0);
      const child = spawn(process.execPath, [path.join(__dirname, 'broadcast-child.js'), JSON.stringify({ pub: pubEndpoint, report: reportEndpoint, sockets, first })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }); // exits when the channel closes
      child.on('exit', (code, signal) => void (stopping || (childFailed = `a subscriber process exited (${signal ?? code})`)));
      children.push(child);
      first += sockets;
    }
    // Warm-up: a one-value message every 100 ms until every subscriber has decoded one.
    const tiny = encode({ type: 'weights', policyVersion: 0, params: { [DEFAULT_POLICY]: { weights: [{ name: 'w', shape: [1], data: new Float32Array(1) }], scalars: {} } } });
    const joinBy = Date.now() + 30_000;
    while (arrivals.seen.size < K) {
      if (childFailed || Date.now() > joinBy) throw new Error(`broadcast bench: ${arrivals.seen.size} of ${K} subscribers joined${childFailed ? `; ${childFailed}` : ' in 30 s'}`);
      await pub.send(tiny);
      await sleep(100);
    }
    await sleep(300); // the last warm-up messages' reports
    let version = MEASURED;
    const rows: BroadcastRow[] = [];
    for (const { net, weights, broadcasts } of nets) {
      const encodeMs: number[] = [];
      const firstMs: number[] = [];
      const lastMs: number[] = [];
      const decodeMs: number[] = [];
      const decodeCpuMs: number[] = [];
      let messageBytes = 0;
      for (let i = 0; i < broadcasts; i++) {
        const v = version++;
        const e = performance.now();
        const msg = encode({ type: 'weights', policyVersion: v, params: { [DEFAULT_POLICY]: { weights, scalars: {} } } });
        const sent = performance.now();
        await pub.send(msg);
        await arrivals.until(v, 60_000);
        const a = arrivals.byVersion.get(v)!;
        messageBytes = msg.length;
        encodeMs.push(sent - e);
        firstMs.push(a.first - sent);
        lastMs.push(a.last - sent);
        decodeMs.push(...a.decodeMs);
        decodeCpuMs.push(...a.decodeCpuMs);
      }
      if (childFailed) throw new Error(`broadcast bench: ${childFailed}`);
      const parameters = weights.reduce((s, w) => s + w.data.length, 0);
      rows.push({ net, parameters, messageBytes, subscribers: K, broadcasts, encodeMs: median(encodeMs), firstDecodedMs: median(firstMs), lastDecodedMs: median(lastMs), decodeMs: median(decodeMs), decodeCpuMs: median(decodeCpuMs) });
    }
    return rows;
  } finally {
    stopping = true;
    children.forEach((c) => c.kill());
    pub.close();
    pull.close();
    fs.rmSync(reportEndpoint.slice('ipc://'.length), { force: true });
  }
}

export async function broadcast(): Promise<BroadcastRow[]> {
  await selectBackend('auto');
  const cartpole = loadConfig(path.join(root, 'configs/ppo-cartpole.yaml')).model;
  const nets = [
    { net: `CartPole PPO [${cartpole.hiddenSizes.join(', ')}]`, weights: ppoWeights(cartpole), broadcasts: 9 },
    { net: 'PPO [700, 700] (~1M)', weights: ppoWeights({ ...cartpole, hiddenSizes: [700, 700] }), broadcasts: 5 },
  ];
  console.log(`\n== weight broadcast: PUB -> K SUB sockets in <= ${PROCESSES} processes (tcp loopback), send to decoded, on the sender's clock (medians) ==`);
  console.log('net                      parameters  message MB    K  encode ms  first decoded ms  last decoded ms  one decode: wall ms  CPU ms');
  const rows: BroadcastRow[] = [];
  for (const K of SUBSCRIBERS) {
    for (const r of await measureK(K, nets)) {
      rows.push(r);
      console.log(
        `${r.net.padEnd(23)} ${fmt(r.parameters).padStart(11)}  ${(r.messageBytes / 1e6).toFixed(2).padStart(10)}  ${String(K).padStart(3)}  ${r.encodeMs.toFixed(1).padStart(9)}  ` +
          `${r.firstDecodedMs.toFixed(1).padStart(16)}  ${r.lastDecodedMs.toFixed(1).padStart(15)}  ${r.decodeMs.toFixed(2).padStart(19)}  ${r.decodeCpuMs.toFixed(2).padStart(6)}`,
      );
    }
  }
  writeBenchJson('broadcast', { cpus: os.cpus().length, loadAverage: os.loadavg(), processes: PROCESSES, clock: 'parent (reports over PUSH)', rows });
  return rows;
}
