import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { forwardNet, tfjsEngine } from '../algorithms/common/forward';
import { QNetwork } from '../algorithms/dqn/q-network';
import { ActorCritic } from '../algorithms/ppo/actor-critic';
import { ppo, ppoConfigSchema } from '../algorithms/ppo/ppo';
import type { ModelConfig, Weights } from '../core/algorithm';
import { inputScale, type DenseSpec, type ForwardEngine, type LayerSpec } from '../core/forward';
import { Rng } from '../core/rng';
import type { SpaceSpec } from '../core/spaces';
import { selectBackend } from '../src/backend';
import { loadOnnxEngine } from '../src/inference/onnx-forward';
import { assertClose } from './helpers/assert-close';
import { actOn } from './helpers/policy-fixtures';

const box = (shape: number[], low: number | number[], high: number | number[], dtype?: 'uint8'): SpaceSpec => {
  const n = shape.reduce((a, d) => a * d, 1);
  const all = (v: number | number[]) => (Array.isArray(v) ? v : Array(n).fill(v));
  return { type: 'Box', shape, low: all(low), high: all(high), ...(dtype ? { dtype } : {}) };
};

/** A 2x2 grey picture, pixels 0..255. */
const frames = box([2, 2, 1], 0, 255, 'uint8');
/** Its pixels 0, 51, 102, 255: (obs - 0) / 255 = 0, 0.2, 0.4, 1. */
const FRAME = Uint8Array.of(0, 51, 102, 255);
const discrete2: SpaceSpec = { type: 'Discrete', n: 2 };
/** One 2x2 filter of ones, then one relu unit, as both algorithms' models. */
const model: ModelConfig = { hiddenSizes: [1], activation: 'relu', sharedLayers: true, conv: [{ filters: 1, kernel: 2, stride: 1, padding: 'valid' }] };

/** `net`'s weights with the values given by name (every one must be given). */
function weightsBy(net: { getWeights(): Weights }, values: Record<string, number[]>): Weights {
  return net.getWeights().map((w) => {
    const v = values[w.name];
    assert.ok(v && v.length === w.data.length, `${w.name}: ${v?.length} values given, ${w.data.length} needed`);
    return { ...w, data: Float32Array.from(v) };
  });
}

/*
 * Worked by hand: the frame scaled is [0, 0.2, 0.4, 1]; the conv (ones, bias 0) gives
 * relu(1.6) = 1.6; the hidden unit relu(2 * 1.6 - 1) = 2.2; the policy head [1, -1] gives
 * logits [2.2, -2.2], the value head 1 * 2.2 + 0.5 = 2.7. Unscaled, the conv would give 408
 * and the value 815.5.
 */
const ACTOR_CRITIC = { 'conv/0/w': [1, 1, 1, 1], 'conv/0/b': [0], 'shared/0/w': [2], 'shared/0/b': [-1], 'pi/out/w': [1, -1], 'pi/out/b': [0, 0], 'vf/out/w': [1], 'vf/out/b': [0.5] };

describe('uint8 observations scaled at the network input', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  it('scales a uint8 Box to [0, 1] by its bounds: one number when they are uniform, one per element otherwise', () => {
    assert.equal(inputScale(box([4], -1, 1)), null, 'a float32 Box is not scaled');
    assert.equal(inputScale(box([2, 2, 3], 0, 1, 'uint8')), null, "binary planes (MinAtar's) are already 0..1: nothing to do");
    assert.equal(inputScale(discrete2), null);
    const s = inputScale(frames)!;
    assert.deepEqual(Array.from(s.low), [0]);
    assert.deepEqual(Array.from(s.scale), [Math.fround(1 / 255)]);
    const mixed = inputScale(box([3], [0, 10, 7], [255, 20, 7], 'uint8'))!;
    assert.deepEqual(Array.from(mixed.low), [0, 10, 7]);
    assert.deepEqual(Array.from(mixed.scale), [Math.fround(1 / 255), Math.fround(0.1), 1], 'high = low: unscaled (the element is always low, so 0)');
  });

  it("PPO's network reads a 2x2 uint8 frame with high 255 as pixels / 255: logits and value as worked by hand, bytes or floats", () => {
    const net = new ActorCritic({ observationSpace: frames, actionSpace: discrete2 }, model, 0);
    try {
      net.setWeights(weightsBy(net, ACTOR_CRITIC));
      for (const dtype of ['int32', 'float32'] as const) {
        const out = tf.tidy(() => {
          const { pi, value } = net.forward(tf.tensor2d(FRAME, [1, 4], dtype));
          const rec = net.forwardRecorded(tf.tensor2d(FRAME, [1, 4], dtype), net.params.unpack());
          return [pi, value, rec.pi, rec.value, net.value(tf.tensor2d(FRAME, [1, 4], dtype))].map((t) => Array.from(t.dataSync()));
        });
        assertClose(out[0], [2.2, -2.2], 1e-6, `${dtype}: logits`);
        assertClose(out[1], [2.7], 1e-6, `${dtype}: value`);
        assertClose(out[2], [2.2, -2.2], 1e-6, `${dtype}: logits (written-out path)`);
        assertClose(out[3], [2.7], 1e-6, `${dtype}: value (written-out path)`);
        assertClose(out[4], [2.7], 1e-6, `${dtype}: value alone`);
      }
    } finally {
      net.dispose();
    }
  });

  it("DQN's network reads the same frame the same way: Q = [2.2, -1.7] by hand, through every forward path", () => {
    const net = new QNetwork({ observationSpace: frames, actionSpace: discrete2 }, { ...model, sharedLayers: false }, false, 0);
    try {
      net.setWeights(weightsBy(net, { 'conv/0/w': [1, 1, 1, 1], 'conv/0/b': [0], 'q/0/w': [2], 'q/0/b': [-1], 'q/out/w': [1, -1], 'q/out/b': [0, 0.5] }));
      const out = tf.tidy(() => {
        const p = net.params.unpack();
        const x = tf.tensor2d(FRAME, [1, 4], 'float32');
        return [net.forward(p, x), net.forward(p, x, true), net.forwardRecorded(p, x).q].map((t) => Array.from(t.dataSync()));
      });
      for (const [i, q] of out.entries()) assertClose(q, [2.2, -1.7], 1e-6, `path ${i}`);
    } finally {
      net.dispose();
    }
  });

  it('an MLP on a uint8 Box with low 5 and high 105 reads (obs - 5) / 100: the sampling policy acts on it as the learner computes', () => {
    const space = box([4], 5, 105, 'uint8');
    const spec = ppo.policySpec({ config: ppoConfigSchema.parse({}), model: { hiddenSizes: [1], activation: 'relu', sharedLayers: true }, observationSpace: space, actionSpace: discrete2 });
    const policy = ppo.createPolicy(spec);
    const net = new ActorCritic(spec, spec.model, 0);
    try {
      // (5, 55, 105, 30) -> (0, 0.5, 1, 0.25): relu(sum) = 1.75; logits [1.75, -1.75]; value 1.75 + 0.5.
      const weights = weightsBy(net, { 'shared/0/w': [1, 1, 1, 1], 'shared/0/b': [0], 'pi/out/w': [1, -1], 'pi/out/b': [0, 0], 'vf/out/w': [1], 'vf/out/b': [0.5] });
      net.setWeights(weights);
      policy.setParams({ weights, scalars: {} });
      const obs = Uint8Array.of(5, 55, 105, 30);
      assertClose(tf.tidy(() => net.forward(tf.tensor2d(obs, [1, 4], 'int32')).value.dataSync()), [2.25], 1e-6, 'learner value');
      const r = actOn(policy, obs, 1, new Rng(0), true);
      assert.equal(r.actions[0], 0);
      assertClose(r.columns.value, [2.25], 1e-6, 'policy value');
      assertClose(r.columns.logp, [Math.log(1 / (1 + Math.exp(-3.5)))], 1e-5, 'policy log-probability');
    } finally {
      policy.dispose();
      net.dispose();
    }
  });

  describe('the inference engines', () => {
    const dense = (inputs: number, w: number[], b: number[], activation: DenseSpec['activation']): DenseSpec => ({ kind: 'dense', inputs, outputs: b.length, activation, w: Float32Array.from(w), b: Float32Array.from(b) });
    const convLayer: LayerSpec = { kind: 'conv', input: [2, 2, 1], output: [1, 1, 1], kernel: 2, stride: 1, padding: 'valid', pads: { top: 0, bottom: 0, left: 0, right: 0 }, w: Float32Array.of(1, 1, 1, 1), b: Float32Array.of(0) };
    /** ACTOR_CRITIC's network as an engine runs it: the frame's [logits, value] = [2.2, -2.2, 2.7]. */
    const net = () => forwardNet(frames, [convLayer, dense(1, [2], [-1], 'relu')], [[dense(1, [1, -1], [0, 0], 'linear')], [dense(1, [1], [0.5], 'linear')]]);
    const engines: { name: string; engine: () => Promise<ForwardEngine | null> }[] = [
      { name: 'tfjs', engine: async () => tfjsEngine },
      { name: 'onnx', engine: async () => (await loadOnnxEngine()).engine },
    ];
    for (const e of engines) {
      it(`${e.name} scales a uint8 frame with high 255 as the learner does: [2.2, -2.2, 2.7] by hand`, async function () {
        const engine = await e.engine();
        if (!engine) {
          assert.ok(process.env.RL_ALLOW_NO_ONNX, 'onnxruntime-node must load for these tests (a dev dependency)');
          this.skip();
        }
        const f = engine.create(net());
        try {
          const two = Uint8Array.of(...FRAME, 255, 255, 255, 255); // and a white frame: conv 4, hidden 7, value 7.5
          assertClose(f.run(two, 2), [2.2, -2.2, 2.7, 7, -7, 7.5], 1e-5, e.name);
        } finally {
          f.dispose();
        }
      });
    }
  });
});
