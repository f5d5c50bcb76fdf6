import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { algorithms } from '../algorithms';
import { fuseTowers, tfjsEngine } from '../algorithms/common/forward';
import { QNetwork } from '../algorithms/dqn/q-network';
import { ActorCritic } from '../algorithms/ppo/actor-critic';
import type { ActResult, AlgorithmModule, ModelConfig, SamplingPolicy } from '../core/algorithm';
import { ConfigError } from '../core/errors';
import type { DenseSpec, ForwardEngine } from '../core/forward';
import { Rng } from '../core/rng';
import type { SpaceSpec } from '../core/spaces';
import { selectBackend } from '../src/backend';
import { inferenceEngine, policyOn } from '../src/inference/engine';
import { loadOnnxEngine } from '../src/inference/onnx-forward';
import { toy } from './helpers/toy-algorithm';

const cartPole: SpaceSpec = { type: 'Box', shape: [4], low: [-5, -5, -5, -5], high: [5, 5, 5, 5] };
const pendulum = { observationSpace: { type: 'Box', shape: [3], low: [-1, -1, -8], high: [1, 1, 8] } as SpaceSpec, actionSpace: { type: 'Box', shape: [1], low: [-2], high: [2] } as SpaceSpec };
const discrete = { observationSpace: cartPole, actionSpace: { type: 'Discrete', n: 3 } as SpaceSpec };
const image = { observationSpace: { type: 'Box', shape: [10, 10, 4], low: Array(400).fill(0), high: Array(400).fill(1), dtype: 'uint8' } as SpaceSpec, actionSpace: { type: 'Discrete', n: 6 } as SpaceSpec };
/** Atari-like frames, pixels 0..255: the networks read them / 255. */
const frames = { observationSpace: { type: 'Box', shape: [12, 12, 2], low: Array(288).fill(0), high: Array(288).fill(255), dtype: 'uint8' } as SpaceSpec, actionSpace: { type: 'Discrete', n: 4 } as SpaceSpec };
/** uint8 readings with their own bounds (a low above 0): the networks read (obs - low) / (high - low) per element. */
const readings = { observationSpace: { type: 'Box', shape: [3], low: [5, 0, 100], high: [105, 255, 110], dtype: 'uint8' } as SpaceSpec, actionSpace: { type: 'Discrete', n: 3 } as SpaceSpec };
const mlp: ModelConfig = { hiddenSizes: [64, 64], activation: 'tanh', sharedLayers: false };
const conv: ModelConfig = { hiddenSizes: [32], activation: 'relu', sharedLayers: false, conv: [{ filters: 8, kernel: 3, stride: 1, padding: 'valid' }, { filters: 8, kernel: 3, stride: 2, padding: 'same' }] };

interface Case {
  name: string;
  module: AlgorithmModule;
  spaces: { observationSpace: SpaceSpec; actionSpace: SpaceSpec };
  model: ModelConfig;
  config?: Record<string, unknown>;
}

const cases: Case[] = [
  { name: 'PPO, Discrete actions', module: algorithms.ppo, spaces: discrete, model: mlp },
  { name: 'PPO, Box actions', module: algorithms.ppo, spaces: pendulum, model: mlp },
  { name: 'PPO, shared layers, relu', module: algorithms.ppo, spaces: discrete, model: { ...mlp, activation: 'relu', sharedLayers: true } },
  { name: 'PPO, conv layers on uint8 images', module: algorithms.ppo, spaces: image, model: conv },
  { name: 'PPO, conv layers on uint8 frames 0..255', module: algorithms.ppo, spaces: frames, model: conv },
  { name: 'PPO, an MLP on uint8 readings with per-element bounds', module: algorithms.ppo, spaces: readings, model: mlp },
  { name: 'DQN', module: algorithms.dqn, spaces: discrete, model: mlp, config: { epsilonFraction: 0.5 } },
  { name: 'DQN, conv layers on uint8 frames 0..255', module: algorithms.dqn, spaces: frames, model: conv, config: { epsilonFraction: 0.5 } },
  { name: 'DQN, dueling, conv layers on uint8 images', module: algorithms.dqn, spaces: image, model: conv, config: { dueling: true, epsilonFraction: 0.5 } },
];

/** The seeded trained-looking weights of a policy of `c` (its algorithm's own initialisation, seed `seed`). */
function paramsOf(c: Case, seed: number) {
  const config = c.module.configSchema.parse(c.config ?? {});
  const algo = c.module.create({ config, model: c.model, ...c.spaces, seed, totalEnvs: 8, rolloutLength: 16, totalEnvSteps: 1000 });
  try {
    const params = algo.getParams().default;
    return { spec: algo.policySpecs().default, params: { ...params, scalars: { ...params.scalars, epsilon: 0.3 } } };
  } finally {
    algo.dispose();
  }
}

function observations(space: SpaceSpec, rows: number, seed: number): Float32Array | Uint8Array {
  if (space.type !== 'Box') throw new TypeError('Box only');
  const rng = new Rng(seed);
  const size = rows * space.shape.reduce((a, d) => a * d, 1);
  if (space.dtype !== 'uint8') return Float32Array.from({ length: size }, () => rng.normal());
  const n = space.low.length;
  return Uint8Array.from({ length: size }, (_, i) => space.low[i % n] + rng.int(space.high[i % n] - space.low[i % n] + 1)); // binary planes: 0 or 1
}

function act(policy: SamplingPolicy, obs: Float32Array | Uint8Array, rows: number, seed: number, deterministic = false): ActResult {
  return policy.act({ obs, numEnvs: rows, state: {}, episodeStarts: new Uint8Array(rows), mask: null, rng: new Rng(seed), deterministic });
}

/** Discrete actions equal; Box actions (a mean plus seeded noise) and the columns within float32 rounding of the two engines' sums. */
function assertSameActs(a: ActResult, b: ActResult, what: string, box: boolean): void {
  if (box) a.actions.forEach((x, i) => assert.ok(Math.abs(x - b.actions[i]) < 1e-5, `${what}: action ${i} ${x} (tfjs) vs ${b.actions[i]} (onnx)`));
  else assert.deepEqual(Array.from(b.actions), Array.from(a.actions), `${what}: actions`);
  assert.deepEqual(Object.keys(b.columns), Object.keys(a.columns));
  for (const [k, col] of Object.entries(a.columns)) {
    const other = b.columns[k];
    for (let i = 0; i < col.length; i++) assert.ok(Math.abs(col[i] - other[i]) < 1e-4, `${what}: ${k}[${i}] ${col[i]} (tfjs) vs ${other[i]} (onnx)`);
  }
}

describe('inference on onnxruntime', () => {
  let onnx: ForwardEngine;

  before(async function () {
    await selectBackend('wasm');
    const loaded = await loadOnnxEngine();
    if (!loaded.engine) {
      assert.ok(process.env.RL_ALLOW_NO_ONNX, `onnxruntime-node must load for these tests (an optional dependency; set RL_ALLOW_NO_ONNX=1 to skip them where it was left out): ${loaded.why}`);
      this.skip();
    }
    onnx = loaded.engine;
  });

  for (const c of cases) {
    it(`${c.name}: the same actions and recorded columns as tfjs for the same seeded inputs, before and after a weight swap`, () => {
      const { spec, params } = paramsOf(c, 1);
      const box = spec.actionSpace.type === 'Box';
      const viaTfjs = c.module.createPolicy(spec, { slot: 0, numSlots: 1 });
      const viaOnnx = c.module.createPolicy(spec, { slot: 0, numSlots: 1, engine: onnx });
      try {
        assert.equal(viaTfjs.engine, 'tfjs');
        assert.equal(viaOnnx.engine, 'onnx');
        for (const [version, p] of [params, paramsOf(c, 2).params].entries()) {
          viaTfjs.setParams(p);
          viaOnnx.setParams(p);
          for (const rows of [1, 7, 64]) {
            const obs = observations(spec.observationSpace, rows, 10 + rows);
            assertSameActs(act(viaTfjs, obs, rows, 5), act(viaOnnx, obs, rows, 5), `weights ${version}, ${rows} rows, sampled`, box);
            assertSameActs(act(viaTfjs, obs, rows, 5, true), act(viaOnnx, obs, rows, 5, true), `weights ${version}, ${rows} rows, greedy`, box);
          }
        }
      } finally {
        viaTfjs.dispose();
        viaOnnx.dispose();
      }
    });
  }

  it("on uint8 frames 0..255, both engines give the learner's own forward: PPO's values, DQN's greedy actions", () => {
    const rows = 16;
    const obs = observations(frames.observationSpace, rows, 4);
    for (const c of cases.filter((k) => k.spaces === frames)) {
      const { spec, params } = paramsOf(c, 3);
      const ppo = c.module === algorithms.ppo;
      const learner = ppo ? new ActorCritic(spec, spec.model, 0) : new QNetwork(spec, spec.model, false, 0);
      learner.setWeights(params.weights);
      const out = tf.tidy(() => {
        const x = tf.tensor2d(obs, [rows, learner.obsSize], 'int32');
        return Array.from((learner instanceof ActorCritic ? learner.forward(x).value : tf.argMax(learner.forward(learner.params.unpack(), x), 1)).dataSync());
      });
      learner.dispose();
      for (const engine of [undefined, onnx]) {
        const policy = c.module.createPolicy(spec, { slot: 0, numSlots: 1, engine });
        try {
          policy.setParams(params);
          const r = act(policy, obs, rows, 5, true);
          if (ppo) r.columns.value.forEach((v, i) => assert.ok(Math.abs(v - out[i]) < 1e-4, `${c.name} on ${policy.engine}: value ${i} ${v}, the learner's ${out[i]}`));
          else assert.deepEqual(Array.from(r.actions), out, `${c.name} on ${policy.engine}: greedy actions`);
        } finally {
          policy.dispose();
        }
      }
    }
  });

  it('a swap changes what the session computes: the new weights are fed, not the first ones kept', () => {
    const c = cases[0];
    const { spec, params } = paramsOf(c, 1);
    const policy = c.module.createPolicy(spec, { slot: 0, numSlots: 1, engine: onnx });
    try {
      const obs = observations(spec.observationSpace, 8, 3);
      policy.setParams(params);
      const before = act(policy, obs, 8, 1).columns.value;
      policy.setParams(paramsOf(c, 2).params);
      const after = act(policy, obs, 8, 1).columns.value;
      assert.ok(before.some((v, i) => Math.abs(v - after[i]) > 1e-3), `${before} vs ${after}`);
    } finally {
      policy.dispose();
    }
  });

  it('workers.inference onnx refuses, in one line, a policy that runs on tfjs only; auto says it falls back and runs it', () => {
    const spec = toy.policySpec({ config: toy.configSchema.parse({}), model: mlp, ...discrete });
    const lines: string[] = [];
    assert.throws(() => policyOn('onnx', onnx, spec, { slot: 0, numSlots: 1 }, (s, ctx) => toy.createPolicy(s, ctx), (l) => lines.push(l)), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, 'workers.inference (onnx): the toy policy runs on tfjs only; use auto or tfjs');
      return true;
    });
    const policy = policyOn('auto', onnx, spec, { slot: 0, numSlots: 1 }, (s, ctx) => toy.createPolicy(s, ctx), (l) => lines.push(l));
    policy.dispose();
    assert.deepEqual(lines, ['inference: tfjs (the toy policy runs on tfjs only)']);
  });

  it('workers.inference tfjs offers no engine, and auto offers onnxruntime where it loads', async () => {
    assert.equal(await inferenceEngine('tfjs', () => assert.fail('no line')), undefined);
    assert.equal((await inferenceEngine('auto', () => assert.fail('no line')))?.name, 'onnx');
  });
});

describe('the tfjs engine', () => {
  const dense = (inputs: number, w: number[], b: number[], activation: DenseSpec['activation'] = 'linear'): DenseSpec => ({ kind: 'dense', inputs, outputs: b.length, activation, w: Float32Array.from(w), b: Float32Array.from(b) });

  it('fuses two towers into one chain: first layers side by side, deeper ones block-diagonal', () => {
    // Tower a: 2 -> 1 -> 1; tower b: 2 -> 2 -> 1.
    const a = [dense(2, [1, 2], [0.5], 'tanh'), dense(1, [3], [0])];
    const b = [dense(2, [4, 5, 6, 7], [1, 2], 'tanh'), dense(2, [8, 9], [-1])];
    const fused = fuseTowers([a, b])!;
    assert.deepEqual(Array.from(fused[0].w), [1, 4, 5, 2, 6, 7]); // [2, 3]: rows of a's column then b's two
    assert.deepEqual(Array.from(fused[0].b), [0.5, 1, 2]);
    assert.deepEqual(Array.from(fused[1].w), [3, 0, 0, 8, 0, 9]); // [3, 2]: a's row, then b's two rows shifted right
    assert.deepEqual(Array.from(fused[1].b), [0, -1]);
    assert.equal(fuseTowers([a, [b[0]]]), null, 'towers of different depth stay apart');
  });

  it('runs a net whose towers cannot be fused: each, side by side in the output', async () => {
    await selectBackend('wasm');
    // x = [1, 2]: tower a = 1*1 + 2*2 + 0.5 = 5.5; tower b = relu(x W + b) then [1, 1] . h.
    const net = { obsSize: 2, obsDtype: 'float32' as const, trunk: [], towers: [[dense(2, [1, 2], [0.5])], [dense(2, [1, 0, 0, -1], [0, 0], 'relu'), dense(2, [1, 1], [0])]] };
    const f = tfjsEngine.create(net);
    try {
      assert.deepEqual(Array.from(f.run(Float32Array.of(1, 2), 1)), [5.5, 1]);
    } finally {
      f.dispose();
    }
  });
});

