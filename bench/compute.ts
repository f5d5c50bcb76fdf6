/**
 * `node dist/bench/run.js compute`: how far from PyTorch. One PPO gradient step (the learner's
 * work per minibatch: rows in as tensors, loss, gradient, clip, one read back, Adam) at MLP
 * [64, 64], [256, 256], [512, 512], the Snake config's conv policy, MinAtar's network, the
 * Atari Nature CNN and an LSTM (ppo-lstm-cartpole-novel's), and a worker's `act()` on 8 and 64
 * observations (and 8 with the LSTM), on the active backend. When
 * /usr/bin/python3 has torch, the same networks and steps in PyTorch (one thread, bench/
 * compute-torch.py) in the same run, interleaved case by case and round by round, and the ratio
 * ours / PyTorch. PyTorch is a measuring stick here, never a dependency. Then a recurrent
 * policy's update and act() per env step against the same config without the LSTM
 * (bench/recurrent-cost.ts).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { ModelConfig } from '../core/algorithm';
import type { SpaceSpec } from '../core/spaces';
import { FusedAdam } from '../algorithms/common/fused-adam';
import { ActorCritic } from '../algorithms/ppo/actor-critic';
import { ppo } from '../algorithms/ppo/ppo';
import { ppoConfigSchema } from '../algorithms/ppo/config';
import { ppoStep } from '../algorithms/ppo/step';
import { Rng } from '../envs';
import { selectBackend } from '../src/backend';
import { median, writeBenchJson } from './bench-json';
import { ppoMinibatch } from './grad-paths';
import { recurrentCost } from './recurrent-cost';

const ROUNDS = 7;
const PYTHON = '/usr/bin/python3';
const SCRIPT = path.resolve(__dirname, '..', '..', 'bench', 'compute-torch.py');

type Conv = NonNullable<ModelConfig['conv']>;

/** A case as both sides build it: the model, the observation (a vector's size, or an image), the batch. */
interface Spec {
  kind: 'step' | 'act';
  label: string;
  obs?: number;
  image?: [number, number, number];
  conv?: Conv;
  hidden: number[];
  activation: 'tanh' | 'relu';
  shared?: boolean;
  actions: number;
  batch: number;
  /** Steps (or act() calls) per round and side. */
  steps: number;
  /** An LSTM of `size` before the towers; a step's rows are sequences of `length` steps, time-major. */
  recurrent?: { size: number; length: number };
}

const conv = (filters: number, kernel: number, stride: number): Conv[number] => ({ filters, kernel, stride, padding: 'valid' });
const mlp = (hidden: number[]): Spec => ({ kind: 'step', label: `PPO step, MLP [${hidden}] tanh, LunarLander-sized, minibatch 256`, obs: 8, hidden, activation: 'tanh', actions: 4, batch: 256, steps: 20 });

const SPECS: Spec[] = [
  mlp([64, 64]),
  mlp([256, 256]),
  mlp([512, 512]),
  { kind: 'step', label: 'PPO step, Snake conv (8x8x3, 16 3x3, [128] relu), minibatch 256', image: [8, 8, 3], conv: [conv(16, 3, 1)], hidden: [128], activation: 'relu', actions: 4, batch: 256, steps: 10 },
  { kind: 'step', label: 'PPO step, MinAtar (10x10x4, 16 3x3, [128] relu), minibatch 256', image: [10, 10, 4], conv: [conv(16, 3, 1)], hidden: [128], activation: 'relu', actions: 6, batch: 256, steps: 10 },
  { kind: 'step', label: 'PPO step, Nature CNN (84x84x4, shared [512]), minibatch 32', image: [84, 84, 4], conv: [conv(32, 8, 4), conv(64, 4, 2), conv(64, 3, 1)], hidden: [512], activation: 'relu', shared: true, actions: 6, batch: 32, steps: 3 },
  { kind: 'step', label: 'PPO step, LSTM 64 then [64] relu, 8 sequences x 32 steps', obs: 4, hidden: [64], activation: 'relu', actions: 2, batch: 256, recurrent: { size: 64, length: 32 }, steps: 5 },
  { kind: 'act', label: 'act(), 8 CartPole observations, [64, 64] tanh', obs: 4, hidden: [64, 64], activation: 'tanh', actions: 2, batch: 8, steps: 200 },
  { kind: 'act', label: 'act(), 8 CartPoleNoVel observations, LSTM 64 then [64] relu', obs: 4, hidden: [64], activation: 'relu', actions: 2, batch: 8, recurrent: { size: 64, length: 1 }, steps: 200 },
  { kind: 'act', label: 'act(), 64 LunarLander observations, [64, 64] tanh', obs: 8, hidden: [64, 64], activation: 'tanh', actions: 4, batch: 64, steps: 200 },
];

const place = { algorithm: 'bench', where: () => 'the compute bench' };

function spacesOf(s: Spec): { observationSpace: SpaceSpec; actionSpace: SpaceSpec } {
  const shape = s.image ?? [s.obs!];
  const n = shape.reduce((a, b) => a * b, 1);
  return { observationSpace: { type: 'Box', shape, low: Array(n).fill(-10), high: Array(n).fill(10) }, actionSpace: { type: 'Discrete', n: s.actions } };
}

/** Our side of a case: one step or act() call, timed by the caller; and what frees it. */
function ours(s: Spec): { run: () => void; dispose: () => void } {
  const r = s.recurrent;
  const model: ModelConfig = { hiddenSizes: s.hidden, activation: s.activation, sharedLayers: s.shared ?? false, conv: s.conv ?? [], ...(r ? { recurrent: { type: 'lstm' as const, size: r.size } } : {}) };
  const spaces = spacesOf(s);
  const rng = new Rng(1);
  if (s.kind === 'act') {
    const spec = ppo.policySpec({ ...spaces, model, config: ppoConfigSchema.parse({}) });
    const policy = ppo.createPolicy(spec);
    const obs = Float32Array.from({ length: s.batch * s.obs! }, () => rng.normal());
    const state: Record<string, Float32Array> = Object.fromEntries(spec.state.map((e) => [e.name, new Float32Array(s.batch * e.size)]));
    const input = { obs, numEnvs: s.batch, state, episodeStarts: new Uint8Array(s.batch), mask: null, rng, deterministic: false };
    return { run: () => void (input.state = policy.act(input).state), dispose: () => policy.dispose() };
  }
  const net = new ActorCritic(spaces, model, 0);
  const optimizer = new FusedAdam(3e-4, 0.9, 0.999, 1e-5); // as the learner's
  const cfg = ppoConfigSchema.parse({ clipRangeVf: 0.2, entCoef: 0.01, gradientPath: r ? 'tape' : 'writtenOut' }); // the recurrent path is the tape's
  const mb = ppoMinibatch(net, s.batch, rng);
  if (r) mb.sequences = { state: [0, 1].map(() => new Float32Array((s.batch / r.length) * r.size)), sequenceLength: r.length, resets: new Uint8Array(s.batch) };
  if (s.image) for (let i = 0; i < mb.obs.length; i++) mb.obs[i] = rng.random() < 0.2 ? 1 : 0; // binary planes
  return { run: () => void ppoStep(net, optimizer, mb, cfg, place), dispose: () => (net.dispose(), optimizer.dispose()) };
}

/** The PyTorch child, or why there is none. */
class Torch {
  private constructor(private readonly child: ChildProcessWithoutNullStreams, private readonly lines: AsyncIterator<string>) {}

  static start(): Torch | string {
    const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.error) return `${PYTHON} did not start (${probe.error.message})`;
    if (probe.status !== 0) return `${PYTHON} has no torch (${probe.stderr.trim().split('\n').pop()})`;
    const child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } });
    child.stderr.on('data', (d) => process.stderr.write(d));
    return new Torch(child, readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]());
  }

  async ask(req: object): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${JSON.stringify(req)}\n`);
    const { value, done } = await this.lines.next();
    if (done) throw new Error('bench/compute-torch.py ended');
    return JSON.parse(value);
  }

  /** Milliseconds of wall-clock and CPU time per step of `s`, medians over its steps. */
  async time(s: Spec): Promise<{ wall: number; cpu: number }> {
    const { label: _label, steps, ...c } = s;
    return (await this.ask({ case: { ...c, conv: c.conv?.map(({ filters, kernel, stride }) => ({ filters, kernel, stride })) }, steps })) as { wall: number; cpu: number };
  }

  stop(): void {
    this.child.stdin.end();
  }
}

/** Medians over `steps` calls of wall-clock and CPU (user + system) milliseconds per call. */
function timeOurs(run: () => void, steps: number): { wall: number; cpu: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    run();
    wall.push(performance.now() - t);
    const u = process.cpuUsage(c);
    cpu.push((u.user + u.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

export async function compute(): Promise<void> {
  const { backend } = await selectBackend('auto');
  const load = os.loadavg();
  const torch = Torch.start();
  console.log(`\n== one PPO gradient step and act(), ${backend} vs PyTorch 1 thread (ms per call, medians of ${ROUNDS} rounds, each the median of its calls; CPU time, then wall-clock) ==`);
  console.log(`machine: ${os.cpus().length} cpus (${os.cpus()[0]?.model}), load average ${load.map((x) => x.toFixed(2)).join(' ')} at the start`);
  let torchInfo: Record<string, unknown> | null = null;
  if (typeof torch === 'string') console.log(`PyTorch: skipped: ${torch}`);
  else {
    torchInfo = await torch.ask({ info: true });
    console.log(`PyTorch ${torchInfo.torch}, ${torchInfo.threads} thread, libraries: ${(torchInfo.libraries as string[]).join(', ')}`);
  }
  const rows = [];
  for (const s of SPECS) {
    const side = ours(s);
    for (let i = 0; i < 3; i++) side.run(); // warm-up: kernels compiled, the optimizer's moments made
    const mine: { wall: number; cpu: number }[] = [];
    const theirs: { wall: number; cpu: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Interleaved, alternating who goes first, so that a burst of load falls on both.
      if (r % 2 === 0) mine.push(timeOurs(side.run, s.steps));
      if (typeof torch !== 'string') theirs.push(await torch.time(s));
      if (r % 2 === 1) mine.push(timeOurs(side.run, s.steps));
    }
    side.dispose();
    const m = (xs: { wall: number; cpu: number }[], k: 'wall' | 'cpu') => median(xs.map((x) => x[k]));
    const row = { case: s.label, ours: { cpu: m(mine, 'cpu'), wall: m(mine, 'wall') }, torch: theirs.length ? { cpu: m(theirs, 'cpu'), wall: m(theirs, 'wall') } : null };
    const f = (x: number) => x.toFixed(x < 1 ? 3 : 2).padStart(7);
    const ratio = row.torch ? `; ratio ${(row.ours.cpu / row.torch.cpu).toFixed(2)}x CPU, ${(row.ours.wall / row.torch.wall).toFixed(2)}x wall` : '';
    console.log(`${s.label.padEnd(70)} ours ${f(row.ours.cpu)} / ${f(row.ours.wall)}${row.torch ? `, PyTorch ${f(row.torch.cpu)} / ${f(row.torch.wall)}` : ''}${ratio}`);
    rows.push(row);
  }
  if (typeof torch !== 'string') torch.stop();
  const recurrent = await recurrentCost();
  const us = (x: number) => `${x.toFixed(0)} us`;
  console.log(`\n== a recurrent policy per env step, configs/ppo-lstm-cartpole-novel.yaml with and without model.recurrent (CPU, medians; ${recurrent.episodeEnds} episode ends in the batch) ==`);
  for (const what of ['update', 'act'] as const) {
    const x = recurrent[what];
    console.log(`${what === 'update' ? 'update (20 epochs, 256 rows)' : 'act(), 8 envs'}: LSTM ${us(x.recurrent)}, feed-forward ${us(x.feedForward)}: ${x.ratio.toFixed(2)}x`);
  }
  console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  writeBenchJson('compute', { backend, torch: torchInfo, cpus: os.cpus().length, loadAverage: { start: load, end: os.loadavg() }, rounds: ROUNDS, rows, recurrent });
}
