/**
 * `node dist/bench/run.js soak [--minutes N] [--workers K]`: a learner memory soak (issue 20).
 * Trains configs/ppo-cartpole-workers.yaml as a plain `rl train --bind tcp://127.0.0.1:PORT`
 * with no spawned worker and K separately started `rl worker`s, for N minutes (default 10,
 * one worker), with no stop rule but the time. Each minute it prints the learner's RSS (from
 * /proc/PID/status) and, from its last progress.jsonl record, its JS heap, its external memory
 * (ArrayBuffers, the wasm backend's heap among them) and tf.memory().numTensors.
 *
 * The verdict (exit 1 on a leak): over the second half of the minutes, the least-squares slope
 * of RSS must be under 2 MB a minute (start-up growth, the wasm heap and V8 settling, is the
 * first half's), and numTensors at the end must equal numTensors at the first minute.
 * Linux only (/proc).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../test/helpers/free-port';
import { writeBenchJson } from './bench-json';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli.js');
/** RSS slope over the second half (MB a minute) at or above which the learner is said to leak. */
const MAX_SLOPE_MB_PER_MINUTE = 2;

interface Sample {
  minute: number;
  rssMB: number;
  heapUsedMB: number;
  externalMB: number;
  numTensors: number;
  iteration: number;
  envSteps: number;
}

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!(Number.isInteger(v) && v >= 1)) throw new Error(`soak: ${name} must be a whole number >= 1, got ${args[i + 1]}`);
  return v;
}

function rssMB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  return kb / 1024;
}

function lastRecord(runDir: string): Record<string, number> | undefined {
  const file = path.join(runDir, 'progress.jsonl');
  if (!fs.existsSync(file)) return undefined;
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  return lines[lines.length - 1] ? (JSON.parse(lines[lines.length - 1]) as Record<string, number>) : undefined;
}

/** Least-squares slope of `ys` over `xs`. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0) / sxx;
}

/** The verdict on per-minute samples: a line, and whether it is a leak. */
export function soakVerdict(samples: Sample[]): { leak: boolean; line: string } {
  const half = samples.slice(Math.floor(samples.length / 2));
  const rate = slope(half.map((s) => s.minute), half.map((s) => s.rssMB));
  const tensors = [samples[0].numTensors, samples[samples.length - 1].numTensors];
  const leak = rate >= MAX_SLOPE_MB_PER_MINUTE || tensors[1] !== tensors[0];
  const line =
    `RSS slope over minutes ${half[0].minute}-${half[half.length - 1].minute}: ${rate.toFixed(2)} MB/min (a leak at >= ${MAX_SLOPE_MB_PER_MINUTE}); ` +
    `numTensors ${tensors[0]} at minute ${samples[0].minute}, ${tensors[1]} at the end (a leak if they differ): ${leak ? 'GROWING' : 'level'}`;
  return { leak, line };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function soak(args: string[]): Promise<void> {
  const minutes = flag(args, '--minutes', 10);
  const workers = flag(args, '--workers', 1);
  const load = os.loadavg()[0];
  console.log(`\n== soak: the learner's memory over ${minutes} min of ppo-cartpole-workers, --bind on loopback with ${workers} \`rl worker\` (load ${load.toFixed(2)} at start) ==`);
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-soak-'));
  const port = await freePort();
  const endpoint = `tcp://127.0.0.1:${port}`;
  const sets = ['workers.numWorkers=0', 'stop.envSteps=1000000000000', 'stop.episodeReturnMean=1000000000'];
  const learner = spawn(process.execPath, [cli, 'train', '--config', 'configs/ppo-cartpole-workers.yaml', '--run-dir', path.join(runDir, 'run'), '--bind', endpoint, ...sets.flatMap((s) => ['--set', s])], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const children: ChildProcess[] = [];
  const samples: Sample[] = [];
  try {
    for (let i = 0; i < workers; i++) children.push(spawn(process.execPath, [cli, 'worker', '--connect', endpoint], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] }));
    const start = Date.now();
    console.log('minute  RSS MB  heap MB  external MB  numTensors  iteration  env steps');
    for (let minute = 1; minute <= minutes; minute++) {
      await new Promise((r) => setTimeout(r, start + minute * 60_000 - Date.now()));
      if (learner.exitCode !== null) throw new Error(`soak: the learner exited (code ${learner.exitCode}) at minute ${minute}`);
      const r = lastRecord(path.join(runDir, 'run')) ?? {};
      const s: Sample = { minute, rssMB: rssMB(learner.pid!), heapUsedMB: r.heapUsedMB ?? NaN, externalMB: r.externalMB ?? NaN, numTensors: r.numTensors ?? NaN, iteration: r.iteration ?? 0, envSteps: r.envSteps ?? 0 };
      samples.push(s);
      console.log(
        `${String(minute).padStart(6)}  ${s.rssMB.toFixed(1).padStart(6)}  ${s.heapUsedMB.toFixed(1).padStart(7)}  ${s.externalMB.toFixed(1).padStart(11)}  ${String(s.numTensors).padStart(10)}  ${String(s.iteration).padStart(9)}  ${s.envSteps.toLocaleString('en-US').padStart(10)}`,
      );
    }
  } finally {
    await Promise.all([learner, ...children].map(stop));
    fs.rmSync(runDir, { recursive: true, force: true });
  }
  const { leak, line } = soakVerdict(samples);
  console.log(line);
  writeBenchJson(`soak-${workers}w`, { minutes, workers, loadAtStart: load, samples, verdict: line });
  if (leak) process.exitCode = 1;
}
