import { algorithms } from '../algorithms';
import { DEFAULT_POLICY, type ModelConfig, type SamplingPolicy } from '../core/algorithm';
import type { ForwardEngine } from '../core/forward';
import { Box, Discrete, makeEnv, registerEnv, Rng, VectorEnv, type Env } from '../envs';
import { selectBackend } from '../src/backend';
import { loadOnnxEngine } from '../src/inference/onnx-forward';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import { median, writeBenchJson } from './bench-json';

/**
 * `node dist/bench/run.js sampling`: one rollout worker's env steps per second in this process,
 * its policy's forward pass on tfjs and on onnxruntime, runs interleaved (tfjs, onnx, tfjs, ...)
 * so that the machine's load hits both alike; medians of ROUNDS. Beside each, where the time
 * goes: the envs alone (random actions), the policy's act() alone on the same observations,
 * and the rest (the stepper, the columns recorded, the batch built).
 *
 * Cases: CartPole-v1 with PPO [64, 64] tanh at 1, 8 and 64 envs; a synthetic 10x10x4 uint8
 * env (MinAtar's size: random binary planes, episodes of 100 steps) with MinAtar's network
 * (conv 16 3x3, dense 128, relu) under PPO, at 64 envs.
 */
const ROUNDS = 7;
const SYNTHETIC = 'SyntheticFrames-v0';

/** A 10x10x4 binary uint8 frame each step, 6 actions, an episode of 100 steps: all observation, no rules. */
class SyntheticFrames implements Env {
  readonly observationSpace = new Box(0, 1, [10, 10, 4], 'uint8');
  readonly actionSpace = new Discrete(6);
  private rng = new Rng(0);
  private t = 0;

  reset(opts: { seed?: number } = {}) {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.t = 0;
    return { obs: this.frame(), info: {} };
  }

  step() {
    this.t += 1;
    return { obs: this.frame(), reward: 0, terminated: this.t >= 100, truncated: false, info: {} };
  }

  close(): void {}

  private frame(): Uint8Array {
    const f = new Uint8Array(400);
    for (let i = 0; i < 40; i++) f[this.rng.int(400)] = 1;
    return f;
  }
}

interface Case {
  name: string;
  envId: string;
  numEnvs: number;
  model: ModelConfig;
}

const cartPoleModel: ModelConfig = { hiddenSizes: [64, 64], activation: 'tanh', sharedLayers: false };
const minatarModel: ModelConfig = { hiddenSizes: [128], activation: 'relu', sharedLayers: false, conv: [{ filters: 16, kernel: 3, stride: 1, padding: 'valid' }] };

export async function samplingThroughput(): Promise<void> {
  await selectBackend('auto');
  registerEnv(SYNTHETIC, () => new SyntheticFrames());
  const loaded = await loadOnnxEngine();
  const engines: (ForwardEngine | undefined)[] = [undefined, ...(loaded.engine ? [loaded.engine] : [])];
  if (!loaded.engine) console.log(`(onnx: ${loaded.why}; tfjs only)`);
  console.log(`\n== sampling throughput, one worker in this process (env steps/s, median of ${ROUNDS} interleaved rounds) ==`);
  const cases: Case[] = [
    ...[1, 8, 64].map((numEnvs) => ({ name: `CartPole-v1 PPO [64,64], ${numEnvs} envs`, envId: 'CartPole-v1', numEnvs, model: cartPoleModel })),
    { name: 'uint8 10x10x4 PPO conv16+128, 64 envs', envId: SYNTHETIC, numEnvs: 64, model: minatarModel },
  ];
  const figures: Record<string, unknown> = {};
  for (const c of cases) {
    const env = makeEnv(c.envId);
    const spaces = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
    const ppo = algorithms.ppo;
    const algo = ppo.create({ config: ppo.configSchema.parse({}), model: c.model, ...spaces, seed: 0, totalEnvs: c.numEnvs, rolloutLength: 1 });
    const spec = algo.policySpecs()[DEFAULT_POLICY];
    const params = algo.getParams()[DEFAULT_POLICY];
    const rolloutLength = Math.max(16, Math.round(8192 / c.numEnvs));
    const runs = engines.map((engine) => {
      const policy = ppo.createPolicy(spec, { slot: 0, numSlots: 1, engine });
      const worker = new RolloutWorker({ workerId: 0, envId: c.envId, envConfig: {}, numEnvs: c.numEnvs, rolloutLength, seed: 0, policy, spec });
      worker.setParams(params, 0);
      worker.sample(); // warm-up
      return { name: policy.engine ?? 'tfjs', policy, worker, sample: [] as number[], act: [] as number[], swap: [] as number[] };
    });
    const vec = new VectorEnv(c.envId, Array.from({ length: c.numEnvs }, () => makeEnv(c.envId)));
    const first = vec.reset(Array.from({ length: c.numEnvs }, (_, i) => i));
    const envOnly: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      envOnly.push(envSteps(vec, rolloutLength));
      for (const r of runs) {
        let t = performance.now();
        r.worker.sample();
        r.sample.push((c.numEnvs * rolloutLength) / ((performance.now() - t) / 1000));
        r.act.push(actSteps(r.policy, first, c.numEnvs, rolloutLength));
        t = performance.now();
        for (let i = 0; i < 20; i++) r.worker.setParams(params, round + 1);
        r.swap.push(((performance.now() - t) / 20) * 1000);
      }
    }
    const e = median(envOnly);
    console.log(`${c.name}: envs alone ${fmt(e)} steps/s`);
    const row: Record<string, unknown> = { envsAlone: e };
    for (const r of runs) {
      const s = median(r.sample);
      const a = median(r.act);
      // Per step: 1/s = 1/envs + 1/act + rest.
      const rest = 1 / s - 1 / e - 1 / a;
      console.log(
        `  ${r.name.padEnd(4)}: ${fmt(s)} steps/s sampled; act() alone ${fmt(a)}/s; time per step: envs ${pct(1 / e, s)}, act ${pct(1 / a, s)}, rest ${pct(rest, s)}; weight swap ${median(r.swap).toFixed(0)} us`,
      );
      row[r.name] = { sampled: s, actAlone: a, swapMicroseconds: median(r.swap), shareEnvs: s / e, shareAct: s / a };
      r.worker.close();
    }
    if (runs.length === 2) console.log(`  onnx / tfjs: ${(median(runs[1].sample) / median(runs[0].sample)).toFixed(2)}x sampled, ${(median(runs[1].act) / median(runs[0].act)).toFixed(2)}x act()`);
    figures[c.name] = row;
    vec.close();
    algo.dispose();
  }
  writeBenchJson('sampling', figures);
}

/** The envs stepped `length` times with random actions: steps per second. */
function envSteps(vec: VectorEnv, length: number): number {
  const n = vec.numEnvs;
  const rng = new Rng(0);
  const actions = new Float32Array(n);
  const a = vec.actionSpace.type === 'Discrete' ? vec.actionSpace.n : 2;
  const t = performance.now();
  for (let s = 0; s < length; s++) {
    for (let e = 0; e < n; e++) actions[e] = rng.int(a);
    vec.step(actions);
  }
  return (n * length) / ((performance.now() - t) / 1000);
}

/** act() `length` times on the same observations: steps per second. */
function actSteps(policy: SamplingPolicy, obs: Float32Array | Uint8Array, n: number, length: number): number {
  const rng = new Rng(1);
  const input = { obs, numEnvs: n, state: {}, episodeStarts: new Uint8Array(n), mask: null, rng, deterministic: false };
  const t = performance.now();
  for (let s = 0; s < length; s++) policy.act(input);
  return (n * length) / ((performance.now() - t) / 1000);
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US').padStart(9);
/** `seconds` per step as a share of the sampled step's 1/`s`. */
const pct = (seconds: number, s: number) => `${Math.max(0, seconds * s * 100).toFixed(0)}%`;
