/**
 * `node dist/bench/run.js ingest`: how much one learner takes in. The learner side is the real
 * `WorkerPool` (tcp on loopback, streaming mode, no spawned workers), drained by `next()` as
 * fast as it hands out batches, which are counted and dropped (no training). K impersonated
 * workers (ingest-load.ts) in two child processes answer every sample request at once, with
 * batches shaped as the shipped worker configs make them.
 *
 * Decode share: `decodeWorkerMessage` is wrapped (the pool calls it through the protocol
 * module's exports, as compiled CommonJS does); the process CPU time across each call
 * (`process.cpuUsage()` before and after, user + system), summed, over the learner process's
 * CPU time in the window. Process CPU counts every thread, so whatever libzmq's I/O thread does
 * during a decode counts as decoding: an upper bound. The wall time inside the calls is
 * recorded too (JSON), and is inflated on a loaded machine (a preempted call counts its wait).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ppo } from '../algorithms/ppo/ppo';
import type { ParamsById, PolicySpec } from '../core/algorithm';
import { makeEnv } from '../envs';
import { selectBackend } from '../src/backend';
import { loadConfig } from '../src/config/load';
import { WorkerPool } from '../src/runtime/pool/worker-pool';
import * as protocol from '../src/transport/protocol';
import { freePort } from '../test/helpers/free-port';
import { median, writeBenchJson } from './bench-json';

const root = path.resolve(__dirname, '..', '..');
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CONFIGS = ['configs/ppo-cartpole-workers.yaml', 'configs/ppo-lunarlander-workers.yaml'];
const WORKERS = [1, 16, 64, 256];
/** Child processes holding the sockets: on a 2-core machine more would only contend with the learner. */
const PROCESSES = 2;
const WARMUP_MS = 1000;
const WINDOWS = 5;
const WINDOW_MS = 2000;

interface DecodeTotals {
  calls: number;
  bytes: number;
  /** Wall time inside the calls. */
  ms: number;
  /** The process's CPU time (every thread) across the calls. */
  cpuMs: number;
}

/** Wraps the protocol module's `decodeWorkerMessage` so that every call the pool makes is timed: the running totals, and how to unwrap it. */
function timeDecodes(): { totals: DecodeTotals; restore: () => void } {
  const totals = { calls: 0, bytes: 0, ms: 0, cpuMs: 0 };
  const mod = protocol as { decodeWorkerMessage: typeof protocol.decodeWorkerMessage };
  const original = mod.decodeWorkerMessage;
  mod.decodeWorkerMessage = (buf, expect) => {
    const t = performance.now();
    const cpu = process.cpuUsage();
    try {
      return original(buf, expect);
    } finally {
      const used = process.cpuUsage(cpu);
      totals.cpuMs += (used.user + used.system) / 1000;
      totals.ms += performance.now() - t;
      totals.calls += 1;
      totals.bytes += buf.length;
    }
  };
  return { totals, restore: () => void (mod.decodeWorkerMessage = original) };
}

export interface IngestRow {
  envId: string;
  workers: number;
  processes: number;
  stepsPerBatch: number;
  batchBytes: number;
  envStepsPerSecond: number;
  batchesPerSecond: number;
  megabytesPerSecond: number;
  /** The learner process's CPU time over wall time (100 = one core). */
  learnerCpuPercent: number;
  /** The load generator's processes' CPU time over wall time, together. */
  generatorCpuPercent: number;
  /** Env steps taken in per second of the learner process's CPU: the rate it would have with a core to itself, if its CPU is what limits it. */
  envStepsPerCpuSecond: number;
  /** CPU time across the decodeWorkerMessage calls over the learner process's CPU time. */
  decodeSharePercent: number;
  /** The same with wall time inside the calls (inflated when the machine is loaded: a preempted call counts its wait). */
  decodeWallSharePercent: number;
  /** CPU time per decodeWorkerMessage call. */
  decodeMicrosecondsPerBatch: number;
}

/**
 * K impersonated workers (ingest-load.ts) connecting to `connect`, in at most PROCESSES child
 * processes (each exits when its ipc channel closes, so none outlives this one). `failed()`
 * says why one exited before `stop()`, or ''.
 */
export function startLoad(connect: string, K: number): { pids: number[]; processes: number; failed: () => string; stop: () => void } {
  const children: ChildProcess[] = [];
  let stopping = false;
  let failed = '';
  const processes = Math.min(PROCESSES, K);
  for (let p = 0; p < processes; p++) {
    const sockets = Math.floor(K / processes) + (p < K % processes ? 1 : 0);
    const child = spawn(process.execPath, [path.join(__dirname, 'ingest-child.js'), JSON.stringify({ connect, sockets, seed: 1000 * p })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('exit', (code, signal) => void (stopping || (failed = `a load generator process exited (${signal ?? code})`)));
    children.push(child);
  }
  return {
    pids: children.map((c) => c.pid!),
    processes,
    failed: () => failed,
    stop: () => {
      stopping = true;
      children.forEach((c) => c.kill());
    },
  };
}

/** CPU seconds (user + system) of the processes `pids`, from /proc (Linux; clock ticks of 10 ms): NaN elsewhere. */
export function childCpuSeconds(pids: number[]): number {
  try {
    return pids.reduce((sum, pid) => {
      const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return sum + (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime (fields 14, 15 of stat)
    }, 0);
  } catch {
    return NaN;
  }
}

interface Snapshot {
  t: number;
  cpu: NodeJS.CpuUsage;
  generatorCpu: number;
  batches: number;
  steps: number;
  decode: DecodeTotals;
}

async function measure(envId: string, setup: { policies: Record<string, PolicySpec>; numEnvs: number; rolloutLength: number }, params: ParamsById, K: number, decodes: DecodeTotals): Promise<IngestRow> {
  const lines: string[] = [];
  const connect = `tcp://127.0.0.1:${await freePort()}`;
  const pool = await WorkerPool.start({
    setup: { ...setup, envId, envConfig: {}, seed: 0, heartbeatSeconds: 1, learnerDir: root },
    numWorkers: 0,
    bind: connect,
    maxPolicyLag: 0,
    streaming: true,
    workerTimeoutSeconds: 60,
    maxWorkerRestarts: 0,
    heartbeatSeconds: 1,
    log: (l) => lines.push(l),
  });
  let load: ReturnType<typeof startLoad> | undefined;
  let consuming = true;
  let poolFailed: Error | null = null;
  const counts = { batches: 0, steps: 0 };
  const consumer = (async () => {
    try {
      while (consuming) {
        for (const b of await pool.next()) {
          counts.batches += 1;
          counts.steps += b.numEnvs * b.length;
        }
      }
    } catch (err) {
      if (consuming) poolFailed = err as Error; // e.g. every worker keeps failing: thrown below, after the cleanup
    }
  })();
  /** Throws what went wrong so far: a rejected message (the figures would count rejections), the pool's fatal error, a load generator's exit. */
  const check = () => {
    const rejected = pool.stats().rejectedMessages;
    if (rejected > 0) throw new Error(`ingest bench: the pool rejected ${rejected} messages, so the figures would count rejections:\n${lines.filter((l) => l.includes('malformed')).join('\n')}`);
    if (poolFailed) throw new Error(`ingest bench: the pool stopped: ${poolFailed.message}`);
    if (load?.failed()) throw new Error(`ingest bench: ${load.failed()}`);
  };
  try {
    await pool.broadcast(params, 0);
    load = startLoad(connect, K);
    const { processes } = load;
    const joinBy = Date.now() + 30_000;
    while (pool.stats().liveWorkers < K) {
      check();
      if (Date.now() > joinBy) throw new Error(`ingest bench: ${pool.stats().liveWorkers} of ${K} workers joined in 30 s`);
      await sleep(50);
    }
    await sleep(WARMUP_MS);
    const pids = load.pids;
    const snap = (): Snapshot => ({ t: performance.now(), cpu: process.cpuUsage(), generatorCpu: childCpuSeconds(pids), ...counts, decode: { ...decodes } });
    const snaps = [snap()];
    for (let w = 0; w < WINDOWS; w++) {
      await sleep(WINDOW_MS);
      check();
      snaps.push(snap());
    }
    consuming = false;
    const stats = pool.stats();
    check();
    if (stats.liveWorkers !== K) throw new Error(`ingest bench: ${stats.liveWorkers} of ${K} workers live at the end:\n${lines.slice(-5).join('\n')}`);
    const windows = snaps.slice(1).map((s, i) => {
      const a = snaps[i];
      const seconds = (s.t - a.t) / 1000;
      const cpuMs = (s.cpu.user - a.cpu.user + s.cpu.system - a.cpu.system) / 1000;
      const calls = s.decode.calls - a.decode.calls;
      if (calls === 0) throw new Error('ingest bench: the wrapped decodeWorkerMessage saw no call in a window (does the pool still call it through the module?)');
      const batches = s.batches - a.batches;
      return {
        envStepsPerSecond: (s.steps - a.steps) / seconds,
        batchesPerSecond: batches / seconds,
        megabytesPerSecond: (s.decode.bytes - a.decode.bytes) / 1e6 / seconds,
        learnerCpuPercent: (100 * cpuMs) / (1000 * seconds),
        generatorCpuPercent: (100 * (s.generatorCpu - a.generatorCpu)) / seconds,
        envStepsPerCpuSecond: (s.steps - a.steps) / (cpuMs / 1000),
        decodeSharePercent: (100 * (s.decode.cpuMs - a.decode.cpuMs)) / cpuMs,
        decodeWallSharePercent: (100 * (s.decode.ms - a.decode.ms)) / cpuMs,
        decodeMicrosecondsPerBatch: (1000 * (s.decode.cpuMs - a.decode.cpuMs)) / calls,
      };
    });
    const med = (k: keyof (typeof windows)[number]) => median(windows.map((w) => w[k]));
    const stepsPerBatch = setup.numEnvs * setup.rolloutLength;
    const batchBytes = (snaps[WINDOWS].decode.bytes - snaps[0].decode.bytes) / Math.max(1, snaps[WINDOWS].decode.calls - snaps[0].decode.calls);
    return {
      envId, workers: K, processes, stepsPerBatch, batchBytes: Math.round(batchBytes),
      envStepsPerSecond: med('envStepsPerSecond'), batchesPerSecond: med('batchesPerSecond'), megabytesPerSecond: med('megabytesPerSecond'),
      learnerCpuPercent: med('learnerCpuPercent'), generatorCpuPercent: med('generatorCpuPercent'), envStepsPerCpuSecond: med('envStepsPerCpuSecond'), decodeSharePercent: med('decodeSharePercent'), decodeWallSharePercent: med('decodeWallSharePercent'),
      decodeMicrosecondsPerBatch: med('decodeMicrosecondsPerBatch'),
    };
  } finally {
    consuming = false;
    load?.stop();
    await pool.close();
    await consumer;
  }
}

export async function ingest(): Promise<IngestRow[]> {
  await selectBackend('auto');
  console.log(`\n== ingest: one learner (WorkerPool, tcp loopback, streaming, batches dropped) fed by K impersonated workers in <= ${PROCESSES} processes (median of ${WINDOWS} x ${WINDOW_MS / 1000} s) ==`);
  console.log('env             K  steps/batch  bytes/batch   env steps/s   batches/s    MB/s  learner CPU  generator CPU  steps/CPU-s  decode share  decode us/batch');
  const { totals: decodes, restore } = timeDecodes();
  const rows: IngestRow[] = [];
  try {
    for (const file of CONFIGS) rows.push(...(await ingestEnv(file, decodes)));
  } finally {
    restore();
  }
  writeBenchJson('ingest', { cpus: os.cpus().length, loadAverage: os.loadavg(), processes: PROCESSES, windows: WINDOWS, windowSeconds: WINDOW_MS / 1000, rows });
  return rows;
}

/** The rows of one shipped worker config: its env, model, envs per worker and rollout length. */
async function ingestEnv(file: string, decodes: DecodeTotals): Promise<IngestRow[]> {
  const cfg = loadConfig(path.join(root, file));
  const env = makeEnv(cfg.env.id);
  const algo = ppo.create({
    config: cfg.ppo, model: cfg.model, observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec(),
    seed: 0, totalEnvs: cfg.workers.numWorkers * cfg.workers.envsPerWorker, rolloutLength: cfg.workers.rolloutLength,
  });
  env.close();
  const setup = { policies: algo.policySpecs(), numEnvs: cfg.workers.envsPerWorker, rolloutLength: cfg.workers.rolloutLength };
  const rows: IngestRow[] = [];
  try {
    for (const K of WORKERS) {
      const r = await measure(cfg.env.id, setup, algo.getParams(), K, decodes);
      rows.push(r);
      console.log(
        `${r.envId.padEnd(14)} ${String(K).padStart(3)}  ${String(r.stepsPerBatch).padStart(11)}  ${fmt(r.batchBytes).padStart(11)}  ${fmt(r.envStepsPerSecond).padStart(12)}  ${fmt(r.batchesPerSecond).padStart(10)}  ${r.megabytesPerSecond.toFixed(1).padStart(6)}  ` +
          `${r.learnerCpuPercent.toFixed(0).padStart(10)}%  ${r.generatorCpuPercent.toFixed(0).padStart(12)}%  ${fmt(r.envStepsPerCpuSecond).padStart(11)}  ${r.decodeSharePercent.toFixed(0).padStart(11)}%  ${r.decodeMicrosecondsPerBatch.toFixed(0).padStart(15)}`,
      );
    }
  } finally {
    algo.dispose();
  }
  return rows;
}
