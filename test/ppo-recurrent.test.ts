import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { ActorCritic } from '../algorithms/ppo/actor-critic';
import { ppoConfigSchema } from '../algorithms/ppo/config';
import { ppo } from '../algorithms/ppo/ppo';
import { withWeights } from './helpers/policy-fixtures';
import { ppoLoss } from '../algorithms/ppo/loss';
import { gatherMinibatch, minibatchTensors, type PpoMinibatch, type PpoRollout } from '../algorithms/ppo/step';
import { cutSequences, sequenceRows } from '../algorithms/common/sequences';
import { Rng } from '../core/rng';
import { Box, Discrete } from '../core/spaces';
import { selectBackend } from '../src/backend';

const spec0 = { observationSpace: new Box([-1, -1, -1], [1, 1, 1], [3]).toSpec(), actionSpace: new Discrete(2).toSpec() };
const model = { hiddenSizes: [8], activation: 'tanh' as const, sharedLayers: false, recurrent: { type: 'lstm' as const, size: 4 } };
const cfg = ppoConfigSchema.parse({ entCoef: 0.01 });

/** Loss and flat gradient of `mb` (tape). */
function lossAndGrad(net: ActorCritic, mb: PpoMinibatch): { loss: number; grad: Float32Array } {
  return tf.tidy(() => {
    const t = minibatchTensors(net, mb);
    const shapes = net.params.shapes();
    const f = (flat: tf.Tensor): tf.Scalar => {
      const parts = tf.split(flat, shapes.map((s) => s.shape.reduce((a, b) => a * b, 1)));
      const p = Object.fromEntries(shapes.map((s, i) => [s.name, tf.reshape(parts[i], s.shape)]));
      return ppoLoss(net, p, t, cfg).loss;
    };
    const { value, grad } = tf.valueAndGrad(f)(net.params.variable);
    return { loss: value.dataSync()[0], grad: grad.dataSync() as Float32Array };
  });
}

describe('Recurrent PPO', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  // One env, 5 steps; the episode ends at step 0 (terminated), so with sequenceLength 3 the
  // sequences are [t0 t1 t2], reset before t1, and [t3 t4], padded by one row.
  const rng = new Rng(7);
  const rollout = (): PpoRollout & { states: Record<string, Float32Array> } => ({
    obs: Float32Array.from({ length: 15 }, () => rng.normal()),
    actions: Float32Array.of(0, 1, 1, 0, 1),
    logp: Float32Array.from({ length: 5 }, () => -0.7 + 0.1 * rng.normal()),
    values: Float32Array.from({ length: 5 }, () => rng.normal()),
    advantages: Float32Array.from({ length: 5 }, () => rng.normal()),
    returns: Float32Array.from({ length: 5 }, () => rng.normal()),
    masks: null,
    states: { h: Float32Array.from({ length: 20 }, () => 0.3 * rng.normal()), c: Float32Array.from({ length: 20 }, () => 0.3 * rng.normal()) },
  });
  const seqs = cutSequences([{ offset: 0, numEnvs: 1, length: 5, terminated: Uint8Array.of(1, 0, 0, 0, 0), truncated: new Uint8Array(5) }], 3);

  function minibatch(net: ActorCritic, data: ReturnType<typeof rollout>, which: number[], L: number, normalize: boolean): PpoMinibatch {
    const sub = { ...seqs, starts: Int32Array.from(which, (k) => seqs.starts[k]), lengths: Int32Array.from(which, (k) => seqs.lengths[k]), strides: Int32Array.from(which, (k) => seqs.strides[k]) };
    const { rows, resets } = sequenceRows(sub, which.map((_, i) => i), L);
    const mb = gatherMinibatch(net, data, rows, normalize);
    mb.sequences = { state: ['h', 'c'].map((k) => Float32Array.from(which.flatMap((w) => Array.from(data.states[k].subarray(seqs.starts[w] * 4, seqs.starts[w] * 4 + 4))))), sequenceLength: L, resets };
    return mb;
  }

  it('cuts the rollout every sequenceLength steps and resets the state where the episode starts inside a sequence', () => {
    assert.deepEqual(Array.from(seqs.starts), [0, 3]);
    assert.deepEqual(Array.from(seqs.lengths), [3, 2]);
    assert.deepEqual(Array.from(sequenceRows(seqs, [0, 1], 3).resets), [0, 0, 1, 0, 0, 0]);
  });

  it('gives padding rows zero loss and zero gradient: a padded sequence scores as it does unpadded', () => {
    const net = new ActorCritic(spec0, model, 3);
    const data = rollout();
    // The padded minibatch of both sequences (3 steps each, one padding row) ...
    const padded = minibatch(net, data, [0, 1], 3, false);
    assert.deepEqual(Array.from(padded.weights!), [1, 1, 1, 1, 1, 0]);
    const both = lossAndGrad(net, padded);
    // ... scores as the row-weighted mix of each sequence alone, unpadded (3 and 2 real rows): every mean is over the 5 real rows.
    const first = lossAndGrad(net, minibatch(net, data, [0], 3, false));
    const second = lossAndGrad(net, minibatch(net, data, [1], 2, false));
    assert.equal(second.grad.length, both.grad.length);
    assert.ok(Math.abs(both.loss - (3 * first.loss + 2 * second.loss) / 5) < 1e-5, `${both.loss} vs ${(3 * first.loss + 2 * second.loss) / 5}`);
    both.grad.forEach((g, i) => assert.ok(Math.abs(g - (3 * first.grad[i] + 2 * second.grad[i]) / 5) < 1e-5, `gradient ${i}`));
    // Garbage in the padding row changes nothing.
    const noisy = minibatch(net, data, [0, 1], 3, false);
    noisy.obs.fill(50, 5 * 3, 6 * 3);
    noisy.advantages[5] = 1e3;
    noisy.returns[5] = -1e3;
    noisy.oldLogp[5] = -20;
    const again = lossAndGrad(net, noisy);
    assert.equal(again.loss, both.loss);
    assert.deepEqual(Array.from(again.grad), Array.from(both.grad));
    net.dispose();
  });

  it('normalises advantages over the real rows only, leaving padding at 0', () => {
    const net = new ActorCritic(spec0, model, 3);
    const mb = minibatch(net, rollout(), [0, 1], 3, true);
    const real = Array.from(mb.advantages).filter((_, i) => mb.weights![i] === 1);
    const mean = real.reduce((a, b) => a + b, 0) / real.length;
    assert.ok(Math.abs(mean) < 1e-6);
    assert.equal(mb.advantages[5], 0);
    net.dispose();
  });

  it("keeps a feed-forward minibatch's loss and gradient op for op as before recurrent policies: plain means, no row weights", () => {
    // The reference is the loss as it was before the recurrent path (every mean tf.mean over the rows), written out here.
    const ff = { hiddenSizes: [8], activation: 'tanh' as const, sharedLayers: false };
    const net = new ActorCritic(spec0, ff, 5);
    const data = rollout();
    const idx = Int32Array.of(4, 0, 3, 1, 2);
    const mb = gatherMinibatch(net, data, idx, true);
    assert.equal(mb.weights, null, 'a feed-forward minibatch carries no row weights');
    const reference = (p: Record<string, tf.Tensor>, t: ReturnType<typeof minibatchTensors>): tf.Scalar => {
      const { pi, value, logStd } = net.forward(t.obs, p);
      const { logProb, entropy } = net.evaluateActions(pi, logStd, t.actions, null);
      const logRatio = tf.sub(logProb, t.oldLogp);
      const ratio = tf.exp(logRatio);
      const negAdv = tf.neg(t.advantages);
      const pgLoss = tf.mean(tf.maximum(tf.mul(negAdv, ratio), tf.mul(negAdv, tf.clipByValue(ratio, 1 - cfg.clipRange, 1 + cfg.clipRange))));
      const vLoss = tf.mul(0.5, tf.mean(tf.square(tf.sub(value, t.returns))));
      return tf.add(tf.sub(pgLoss, tf.mul(cfg.entCoef, tf.mean(entropy))), tf.mul(cfg.vfCoef, vLoss)) as tf.Scalar;
    };
    const [ours, theirs] = [(p: Record<string, tf.Tensor>, t: ReturnType<typeof minibatchTensors>) => ppoLoss(net, p, t, cfg).loss, reference].map((lossOf) =>
      tf.tidy(() => {
        const t = minibatchTensors(net, mb);
        const { value, grads } = tf.variableGrads(() => lossOf(net.params.unpack(), t), net.variables);
        return { loss: value.dataSync()[0], grad: Array.from(Object.values(grads)[0].dataSync()) };
      }),
    );
    assert.equal(ours.loss, theirs.loss);
    assert.deepEqual(ours.grad, theirs.grad);
    net.dispose();
  });

  for (const type of ['lstm', 'gru'] as const) {
    it(`acts step by step as the learner's unrolled network computes the same sequence from the recorded state (${type})`, () => {
      const spec = ppo.policySpec({ ...spec0, model: { ...model, recurrent: { type, size: 4 } }, config: cfg });
      const names = type === 'lstm' ? ['h', 'c'] : ['h'];
      assert.deepEqual(spec.state, names.map((name) => ({ name, size: 4 })));
      assert.deepEqual(spec.columns.map((c) => c.name), ['logp', 'value', ...names.map((n) => `state/${n}`)]);
      const learner = new ActorCritic(spec, spec.model, 11);
      const policy = ppo.createPolicy(spec);
      policy.setParams(withWeights(learner.getWeights()));
      const r = new Rng(8);
      const T = 5;
      const n = 2;
      const obs = Float32Array.from({ length: T * n * 3 }, () => r.normal());
      let state: Record<string, Float32Array> = Object.fromEntries(names.map((k) => [k, new Float32Array(n * 4)]));
      const values: number[] = [];
      const recorded: Record<string, Float32Array>[] = [];
      for (let t = 0; t < T; t++) {
        const out = policy.act({ obs: obs.subarray(t * n * 3, (t + 1) * n * 3), numEnvs: n, state, episodeStarts: new Uint8Array(n).fill(t === 0 ? 1 : 0), mask: null, rng: r, deterministic: false });
        values.push(...out.columns.value);
        recorded.push(Object.fromEntries(names.map((k) => [k, out.columns[`state/${k}`] as Float32Array])));
        state = out.state;
      }
      // From the state recorded at step 2, steps 2-4 of both envs as one time-major minibatch (row t * 2 + e).
      const unrolled = tf.tidy(() => {
        const start = names.map((k) => tf.tensor2d(recorded[2][k], [n, 4]));
        return learner.forwardSequences(tf.tensor2d(obs.subarray(2 * n * 3), [3 * n, 3]), start, 3, null).value.dataSync();
      });
      assert.ok(recorded[2].h.some((v) => v !== 0), 'a state past the start is not zero');
      unrolled.forEach((v, i) => assert.ok(Math.abs(v - values[2 * n + i]) < 1e-5, `row ${i}: ${v} != ${values[2 * n + i]}`));
      policy.dispose();
      learner.dispose();
    });
  }
});
