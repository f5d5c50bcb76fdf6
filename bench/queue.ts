/**
 * `node dist/bench/run.js queue`: the `queue` schedule's learner against K impersonated workers
 * (the ingest bench's load generator: tcp on loopback, every sample request answered at once
 * with a batch of the config's shape), with decoding on the learner's thread or on a decode
 * thread (`workers.decodeThreads` 0 and 1), interleaved. The learner loop is the queue
 * driver's: take `trainBatchSize` steps, update, broadcast every `broadcastEvery` updates.
 *
 * Two updates: the config's own algorithm (IMPALA or APPO, its real update on the synthetic
 * batches), and `spin`, a busy loop of SPIN_US per step taken standing for a learner a few
 * times faster than this machine's wasm one (a GPU's), where what the intake costs the update's
 * thread shows. Per row, medians of WINDOWS windows: env steps trained per second; `busy`, the
 * update's share of the wall time (the queue driver's `learnerBusy`); `thread`, the learner
 * thread's event-loop utilisation (`performance.eventLoopUtilization`: the update plus
 * everything else it ran: reading the sockets, decoding, the pool), so `thread - busy` is what
 * the intake took from the update's thread.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { algorithms } from '../algorithms';
import type { Algorithm, TrajectoryBatch } from '../core/algorithm';
import { makeEnv } from '../envs';
import { selectBackend } from '../src/backend';
import { loadConfig } from '../src/config/load';
import { WorkerPool } from '../src/runtime/pool/worker-pool';
import { freePort } from '../test/helpers/free-port';
import { median, writeBenchJson } from './bench-json';
import { startLoad } from './ingest';

const root = path.resolve(__dirname, '..', '..');
const CONFIGS = ['configs/impala-cartpole-workers.yaml', 'configs/appo-lunarlander-workers.yaml'];
const WORKERS = [16, 64, 256];
const DECODE_THREADS = [0, 1];
/** The `spin` update's cost per step taken (µs): a learner of 500,000 steps/s. */
const SPIN_US = 2;
const WARMUP_MS = 1500;
const WINDOWS = 5;
const WINDOW_MS = 2000;

export interface QueueRow {
  config: string;
  update: string;
  workers: number;
  decodeThreads: number;
  envStepsPerSecond: number;
  /** The update's share of the wall time, %. */
  busyPercent: number;
  /** The learner thread's event-loop utilisation, %. */
  threadPercent: number;
  /** Batches left queued at each take (mean over the window). */
  queueDepth: number;
}

type Update = (batches: TrajectoryBatch[], envSteps: number) => Promise<void>;

/** A busy loop of SPIN_US per step: an update of that cost that touches no tensor. */
function spin(batches: TrajectoryBatch[]): Promise<void> {
  const steps = batches.reduce((s, b) => s + b.numEnvs * b.length, 0);
  const end = performance.now() + (steps * SPIN_US) / 1000;
  while (performance.now() < end);
  return Promise.resolve();
}

async function measure(file: string, algo: Algorithm, update: { name: string; run: Update }, K: number, decodeThreads: number): Promise<QueueRow> {
  const cfg = loadConfig(path.join(root, file));
  const s = algo.schedule;
  if (s.mode !== 'queue') throw new Error(`queue bench: ${file} is not on the queue schedule`);
  const connect = `tcp://127.0.0.1:${await freePort()}`;
  const lines: string[] = [];
  const pool = await WorkerPool.start({
    setup: { policies: algo.policySpecs(), envId: cfg.env.id, envConfig: {}, numEnvs: cfg.workers.envsPerWorker, rolloutLength: cfg.workers.rolloutLength, seed: 0, heartbeatSeconds: 1, learnerDir: root },
    numWorkers: 0, bind: connect, streaming: true, queueSize: s.queueSize,
    maxPolicyLag: 1e9, // the load generator's batches all name version 0: intake is measured here, not lag
    decodeThreads, workerTimeoutSeconds: 60, maxWorkerRestarts: 0, heartbeatSeconds: 1, log: (l) => lines.push(l),
  });
  const load = startLoad(connect, K);
  const totals = { steps: 0, updateMs: 0, queued: 0, takes: 0 };
  let running = true;
  let failure: Error | null = null;
  const learner = (async () => {
    let version = 0;
    while (running) {
      const taken = await pool.take(s.trainBatchSize);
      const t = performance.now();
      await update.run(taken.batches, totals.steps);
      if ((totals.takes + 1) % s.broadcastEvery === 0) await pool.broadcast(algo.getParams(), ++version);
      totals.updateMs += performance.now() - t;
      totals.steps += taken.batches.reduce((n, b) => n + b.numEnvs * b.length, 0);
      totals.queued += taken.queued;
      totals.takes += 1;
    }
  })().catch((err: Error) => void (failure = err));
  const check = () => {
    if (failure) throw failure;
    if (load.failed()) throw new Error(`queue bench: ${load.failed()}`);
    if (pool.stats().rejectedMessages > 0) throw new Error(`queue bench: the pool rejected messages:\n${lines.join('\n')}`);
  };
  try {
    await pool.broadcast(algo.getParams(), 0);
    for (const end = Date.now() + 30_000; pool.stats().liveWorkers < K; await new Promise((r) => setTimeout(r, 50))) {
      check();
      if (Date.now() > end) throw new Error(`queue bench: ${pool.stats().liveWorkers} of ${K} workers joined in 30 s`);
    }
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const snap = () => ({ t: performance.now(), elu: performance.eventLoopUtilization(), ...totals });
    const windows: Pick<QueueRow, 'envStepsPerSecond' | 'busyPercent' | 'threadPercent' | 'queueDepth'>[] = [];
    for (let w = 0; w < WINDOWS; w++) {
      const a = snap();
      await new Promise((r) => setTimeout(r, WINDOW_MS));
      check();
      const b = snap();
      const ms = b.t - a.t;
      windows.push({
        envStepsPerSecond: ((b.steps - a.steps) * 1000) / ms,
        busyPercent: (100 * (b.updateMs - a.updateMs)) / ms,
        threadPercent: 100 * performance.eventLoopUtilization(b.elu, a.elu).utilization,
        queueDepth: (b.queued - a.queued) / Math.max(1, b.takes - a.takes),
      });
    }
    const med = (k: keyof (typeof windows)[number]) => median(windows.map((w) => w[k]));
    return { config: path.basename(file), update: update.name, workers: K, decodeThreads, envStepsPerSecond: med('envStepsPerSecond'), busyPercent: med('busyPercent'), threadPercent: med('threadPercent'), queueDepth: med('queueDepth') };
  } finally {
    running = false;
    load.stop();
    await pool.close(); // a take() still waiting rejects: the learner loop ends
    await learner;
  }
}

export async function queueBench(): Promise<QueueRow[]> {
  await selectBackend('auto');
  console.log(`\n== queue: the queue schedule's learner (take, update, broadcast) fed by K impersonated workers; decoding on its thread (0) or a decode thread (1); medians of ${WINDOWS} x ${WINDOW_MS / 1000} s ==`);
  console.log('config                             update   K  decode  env steps/s  busy  thread  thread-busy  queued');
  const rows: QueueRow[] = [];
  for (const file of CONFIGS) {
    const cfg = loadConfig(path.join(root, file));
    const env = makeEnv(cfg.env.id);
    const module = algorithms[cfg.algorithm];
    const algo = module.create({ config: cfg[cfg.algorithm], model: cfg.model, observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec(), seed: 0, totalEnvs: cfg.workers.numWorkers * cfg.workers.envsPerWorker, rolloutLength: cfg.workers.rolloutLength });
    env.close();
    const updates = [
      { name: cfg.algorithm, run: async (batches: TrajectoryBatch[], envSteps: number) => void (await algo.update(batches, { envSteps, policyVersion: 0 })) },
      { name: 'spin', run: spin },
    ];
    try {
      for (const update of updates) {
        for (const K of WORKERS) {
          for (const threads of DECODE_THREADS) {
            const r = await measure(file, algo, update, K, threads);
            rows.push(r);
            console.log(
              `${r.config.padEnd(34)} ${r.update.padEnd(6)} ${String(K).padStart(3)}  ${String(threads).padStart(6)}  ${Math.round(r.envStepsPerSecond).toLocaleString('en-US').padStart(11)}  ` +
                `${r.busyPercent.toFixed(0).padStart(3)}%  ${r.threadPercent.toFixed(0).padStart(5)}%  ${(r.threadPercent - r.busyPercent).toFixed(0).padStart(10)}%  ${r.queueDepth.toFixed(1).padStart(6)}`,
            );
          }
        }
      }
    } finally {
      algo.dispose();
    }
  }
  writeBenchJson('queue', { cpus: os.cpus().length, loadAverage: os.loadavg(), spinMicrosecondsPerStep: SPIN_US, windows: WINDOWS, windowSeconds: WINDOW_MS / 1000, rows });
  return rows;
}
