/**
 * `node dist/bench/run.js grad-paths`: the time of one gradient step through tfjs' tape (the
 * default, `gradientPath: tape`) and through the written-out gradient (`gradientPath:
 * writtenOut`), for PPO and DQN networks of the shipped configs' sizes, on the backend in use.
 * A step is what the learner does per minibatch: the rows in as tensors, the loss and its
 * gradient, clipping, one read back, Adam. The paths take their steps in turn (interleaved, so
 * that the machine's load falls on both alike); the figures are medians over rounds.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../core/algorithm';
import { gradientPaths, type GradientPath } from '../algorithms/common/gradient-step';
import type { Sampled } from '../algorithms/common/replay';
import { dqnConfigSchema } from '../algorithms/dqn/config';
import { QNetwork } from '../algorithms/dqn/q-network';
import { dqnStep } from '../algorithms/dqn/step';
import { ActorCritic } from '../algorithms/ppo/actor-critic';
import { ppoConfigSchema } from '../algorithms/ppo/config';
import { ppoStep, type PpoMinibatch } from '../algorithms/ppo/step';
import { makeEnv, Rng } from '../envs';
import { selectBackend } from '../src/backend';
import { median, writeBenchJson } from './bench-json';

const ROUNDS = 9;
const STEPS = 20; // per path per round
const WARM_UP = 5;

interface Case {
  label: string;
  /** One gradient step by `path`; `dispose` frees what the case made. */
  make(): { step: (path: GradientPath) => void; dispose: () => void };
}

const place = { algorithm: 'bench', where: () => 'the bench' };

function spacesOf(envId: string) {
  const env = makeEnv(envId);
  return { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
}

function ppoCase(envId: string, hiddenSizes: number[], minibatch: number): Case {
  const spaces = spacesOf(envId);
  const gaussian = spaces.actionSpace.type === 'Box';
  return {
    label: `PPO ${envId} ${gaussian ? 'Gaussian' : 'discrete'} [${hiddenSizes}] tanh, minibatch ${minibatch}`,
    make() {
      const model: ModelConfig = { hiddenSizes, activation: 'tanh', sharedLayers: false };
      const nets = new Map(gradientPaths.map((p) => [p, new ActorCritic(spaces, model, 0)]));
      const optimizers = new Map(gradientPaths.map((p) => [p, tf.train.adam(3e-4, 0.9, 0.999, 1e-5)]));
      const cfg = ppoConfigSchema.parse({ clipRangeVf: 0.2, entCoef: 0.01 });
      const mb = ppoMinibatch(nets.get('tape')!, minibatch, new Rng(1));
      return {
        step: (path) => void ppoStep(nets.get(path)!, optimizers.get(path)!, mb, { ...cfg, gradientPath: path }, place),
        dispose: () => [...nets.values(), ...optimizers.values()].forEach((x) => x.dispose()),
      };
    },
  };
}

function dqnCase(envId: string, hiddenSizes: number[], batch: number): Case {
  const spaces = spacesOf(envId);
  return {
    label: `DQN ${envId} [${hiddenSizes}] relu, double Q, batch ${batch}`,
    make() {
      const model: ModelConfig = { hiddenSizes, activation: 'relu', sharedLayers: false };
      const cfg = dqnConfigSchema.parse({ batchSize: batch });
      const online = new Map(gradientPaths.map((p) => [p, new QNetwork(spaces, model, cfg.dueling, 0)]));
      const optimizers = new Map(gradientPaths.map((p) => [p, tf.train.adam(1e-3, 0.9, 0.999, 1e-8)]));
      const target = new QNetwork(spaces, model, cfg.dueling, 1);
      const targetP = tf.tidy(() => target.params.unpack());
      const net = online.get('tape')!;
      const rng = new Rng(2);
      const d = net.obsSize;
      const s: Sampled = {
        index: new Int32Array(batch),
        obs: Float32Array.from({ length: batch * d }, () => rng.normal()),
        nextObs: Float32Array.from({ length: batch * d }, () => rng.normal()),
        actions: Int32Array.from({ length: batch }, () => rng.int(net.numActions)),
        rewards: Float32Array.from({ length: batch }, () => rng.normal()),
        discounts: Float32Array.from({ length: batch }, () => (rng.random() < 0.02 ? 0 : 0.99)),
        weights: new Float32Array(batch).fill(1),
      };
      return {
        step: (path) => void dqnStep({ online: online.get(path)!, target, targetP }, optimizers.get(path)!, s, { ...cfg, gradientPath: path }, place),
        dispose: () => {
          tf.dispose(Object.values(targetP));
          [...online.values(), target, ...optimizers.values()].forEach((x) => x.dispose());
        },
      };
    },
  };
}

/** A PPO minibatch of `size` random rows for `net`: actions one-hot or Gaussian, old log-probabilities near the untrained network's. */
export function ppoMinibatch(net: ActorCritic, size: number, rng: Rng): PpoMinibatch {
  const rows = (n: number, f: () => number) => Float32Array.from({ length: n }, f);
  const actions = new Float32Array(size * net.actionSize);
  for (let j = 0; j < size; j++) {
    if (!net.discrete) for (let k = 0; k < net.actionSize; k++) actions[j * net.actionSize + k] = rng.normal();
    else actions[j * net.actionSize + rng.int(net.actionSize)] = 1;
  }
  return {
    obs: rows(size * net.obsSize, () => rng.normal()),
    actions,
    advantages: rows(size, () => rng.normal()),
    // Near what the untrained network gives, a little off: some ratios clipped, as in training.
    oldLogp: rows(size, () => (net.discrete ? -Math.log(net.actionSize) : -1.4 * net.actionSize) + rng.uniform(-0.3, 0.3)),
    oldValues: rows(size, () => rng.uniform(-0.5, 0.5)),
    returns: rows(size, () => rng.normal()),
  };
}

/** Per gradient step, in milliseconds: wall-clock time, and this process's CPU time (user + system). */
interface StepTime {
  wall: number;
  cpu: number;
}

/**
 * The time of a gradient step by path: ROUNDS rounds, each of STEPS steps of every path taken
 * in turn (step by step, so a burst of load on the shared machine falls on both paths alike);
 * the median over the rounds of each path's mean step. CPU time leaves out the time the process
 * waited for a core, which on a loaded machine is most of the wall-clock time's noise.
 */
function timeCase(c: Case): Record<GradientPath, StepTime> {
  const { step, dispose } = c.make();
  for (const path of gradientPaths) for (let i = 0; i < WARM_UP; i++) step(path);
  const times = new Map<GradientPath, StepTime[]>(gradientPaths.map((p) => [p, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const sums = new Map<GradientPath, StepTime>(gradientPaths.map((p) => [p, { wall: 0, cpu: 0 }]));
    for (let i = 0; i < STEPS; i++) {
      // Alternate which path goes first, so that neither always follows the other.
      for (const path of i % 2 === 0 ? gradientPaths : [...gradientPaths].reverse()) {
        const cpu = process.cpuUsage();
        const t = performance.now();
        step(path);
        const wall = performance.now() - t;
        const used = process.cpuUsage(cpu);
        const sum = sums.get(path)!;
        sum.wall += wall;
        sum.cpu += (used.user + used.system) / 1000;
      }
    }
    for (const path of gradientPaths) times.get(path)!.push({ wall: sums.get(path)!.wall / STEPS, cpu: sums.get(path)!.cpu / STEPS });
  }
  dispose();
  const med = (p: GradientPath, k: keyof StepTime) => median(times.get(p)!.map((t) => t[k]));
  return Object.fromEntries(gradientPaths.map((p) => [p, { wall: med(p, 'wall'), cpu: med(p, 'cpu') }])) as Record<GradientPath, StepTime>;
}

export async function gradPaths(): Promise<void> {
  const { backend } = await selectBackend('auto');
  const load = os.loadavg();
  console.log(`\n== one gradient step, tape vs written-out gradient, ${backend} (ms per step, CPU and wall-clock; median of ${ROUNDS} rounds of ${STEPS} steps, the paths taken in turn; ratio tape / written out) ==`);
  console.log(`machine: ${os.cpus().length} cpus, load average ${load.map((x) => x.toFixed(2)).join(' ')} at the start`);
  const cases = [
    ppoCase('CartPole-v1', [64, 64], 256),
    ppoCase('LunarLander-v3', [64, 64], 256),
    ppoCase('CartPole-v1', [256, 256], 256),
    ppoCase('LunarLander-v3', [256, 256], 256),
    ppoCase('Pendulum-v1', [64, 64], 256),
    dqnCase('CartPole-v1', [128, 128], 128),
  ];
  const rows = cases.map((c) => {
    const { tape, writtenOut } = timeCase(c);
    const row = { case: c.label, tape, writtenOut, ratio: { wall: tape.wall / writtenOut.wall, cpu: tape.cpu / writtenOut.cpu } };
    const f = (x: number) => x.toFixed(2).padStart(6);
    console.log(`${c.label.padEnd(58)} CPU: tape ${f(tape.cpu)}, written out ${f(writtenOut.cpu)}, ${row.ratio.cpu.toFixed(2)}x; wall: ${f(tape.wall)}, ${f(writtenOut.wall)}, ${row.ratio.wall.toFixed(2)}x`);
    return row;
  });
  console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  writeBenchJson('grad-paths', { backend, cpus: os.cpus().length, loadAverage: { start: load, end: os.loadavg() }, rounds: ROUNDS, stepsPerRound: STEPS, rows });
}
