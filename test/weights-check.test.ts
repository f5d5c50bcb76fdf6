import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_POLICY, type PolicySpec, type Weights } from '../core/algorithm';
import { dqn, dqnConfigSchema } from '../algorithms/dqn/dqn';
import { ppo, ppoConfigSchema } from '../algorithms/ppo/ppo';
import { makeEnv } from '../envs';
import { selectBackend } from '../src/backend';
import { weightsProblem, type WeightShape } from '../src/runtime/weights-check';

const expected: WeightShape[] = [
  { name: 'pi/0/w', shape: [2, 3] },
  { name: 'pi/0/b', shape: [3] },
];

function weights(patch: Partial<Record<string, { shape?: number[]; data?: number[] }>> = {}): Weights {
  return expected.map((e) => {
    const p = patch[e.name] ?? {};
    const shape = p.shape ?? e.shape;
    return { name: e.name, shape, data: Float32Array.from(p.data ?? Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i / 10)) };
  });
}

describe('Weights checked against the policy a worker built', () => {
  it('passes exactly the tensors of the policy, in any order', () => {
    assert.equal(weightsProblem(expected, weights()), null);
    assert.equal(weightsProblem(expected, weights().reverse()), null);
  });

  it('names a tensor of the wrong shape and the shape the policy needs: pi/0/w [2, 4] where it is [2, 3]', () => {
    assert.deepEqual(weightsProblem(expected, weights({ 'pi/0/w': { shape: [2, 4] } })), { kind: 'mismatch', message: "pi/0/w is [2, 4], the policy's is [2, 3]" });
    assert.deepEqual(weightsProblem(expected, weights({ 'pi/0/b': { shape: [3, 1] } })), { kind: 'mismatch', message: "pi/0/b is [3, 1], the policy's is [3]" });
  });

  it('names a missing tensor, one the policy has not, a repeated one, and one whose values do not fill its shape', () => {
    assert.deepEqual(weightsProblem(expected, weights().slice(1)), { kind: 'mismatch', message: 'pi/0/w is missing' });
    assert.deepEqual(weightsProblem(expected, [...weights(), { name: 'vf/0/w', shape: [1], data: Float32Array.of(0) }]), { kind: 'mismatch', message: 'vf/0/w is not in this policy' });
    assert.deepEqual(weightsProblem(expected, [...weights(), weights()[1]]), { kind: 'mismatch', message: "3 tensors for the policy's 2 (a name repeats)" });
    assert.deepEqual(weightsProblem(expected, weights({ 'pi/0/b': { data: [1, 2] } })), { kind: 'mismatch', message: 'pi/0/b has 2 values for its shape [3] (3)' });
  });

  it('lists at most three missing names, and says how many more', () => {
    const many = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, shape: [1] }));
    assert.deepEqual(weightsProblem(many, []), { kind: 'mismatch', message: 'a, b, c and 2 more are missing' });
  });

  it('calls NaN or an infinite value non-finite (the message is bad, not the model), naming the tensor and the index', () => {
    assert.deepEqual(weightsProblem(expected, weights({ 'pi/0/b': { data: [0, NaN, 0] } })), { kind: 'nonFinite', message: 'pi/0/b[1] is NaN' });
    assert.deepEqual(weightsProblem(expected, weights({ 'pi/0/w': { data: [0, 0, 0, 0, 0, -Infinity] } })), { kind: 'nonFinite', message: 'pi/0/w[5] is -Infinity' });
  });

  it('reports a wrong shape before a NaN elsewhere: another model is refused whatever its values', () => {
    const w = weights({ 'pi/0/w': { data: [NaN, 0, 0, 0, 0, 0] }, 'pi/0/b': { shape: [4] } });
    assert.equal(weightsProblem(expected, w)?.kind, 'mismatch');
  });
});

describe('AlgorithmModule.weightShapes', () => {
  before(async () => {
    await selectBackend('cpu');
  });

  const env = makeEnv('CartPole-v1');
  const spaces = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
  const shapesOf = (w: Weights) => w.map((t) => ({ name: t.name, shape: t.shape }));

  it("gives PPO's tensors exactly as its getParams() sends them, and leaves no tensor behind", () => {
    const algo = ppo.create({ config: ppoConfigSchema.parse({}), model: { hiddenSizes: [32, 32], activation: 'tanh', sharedLayers: false }, ...spaces, seed: 0, totalEnvs: 2, rolloutLength: 4 });
    const spec: PolicySpec = algo.policySpecs()[DEFAULT_POLICY];
    const sent = shapesOf(algo.getParams()[DEFAULT_POLICY].weights);
    algo.dispose();
    const tensors = tf.memory().numTensors;
    assert.deepEqual(ppo.weightShapes(spec), sent);
    assert.deepEqual(ppo.weightShapes(spec).find((t) => t.name === 'pi/1/w'), { name: 'pi/1/w', shape: [32, 32] });
    assert.equal(tf.memory().numTensors, tensors);
  });

  it("gives DQN's tensors as its getParams() sends them (its exploration rate is a scalar, no tensor), and leaves no tensor behind", () => {
    const algo = dqn.create({ config: dqnConfigSchema.parse({ dueling: true }), model: { hiddenSizes: [16], activation: 'relu', sharedLayers: false }, ...spaces, seed: 0, totalEnvs: 2, rolloutLength: 1, totalEnvSteps: 1000 });
    const spec = algo.policySpecs()[DEFAULT_POLICY];
    const sent = shapesOf(algo.getParams()[DEFAULT_POLICY].weights);
    algo.dispose();
    const tensors = tf.memory().numTensors;
    assert.deepEqual(dqn.weightShapes(spec), sent);
    assert.deepEqual(dqn.weightShapes(spec).at(-1), { name: 'q/value/b', shape: [1] });
    assert.equal(tf.memory().numTensors, tensors);
  });

  it('leaves no tensor behind for a model with conv layers (their constant matrices are disposed)', () => {
    const image = { type: 'Box' as const, shape: [10, 5, 1], low: Array(50).fill(0), high: Array(50).fill(1) };
    const model = { hiddenSizes: [8], activation: 'relu' as const, sharedLayers: false, conv: [{ filters: 4, kernel: 3, stride: 1, padding: 'valid' as const }] };
    const spec = ppo.policySpec({ config: ppoConfigSchema.parse({}), model, observationSpace: image, actionSpace: { type: 'Discrete', n: 3 } });
    const tensors = tf.memory().numTensors;
    assert.deepEqual(ppo.weightShapes(spec).slice(0, 2), [{ name: 'conv/0/w', shape: [9, 4] }, { name: 'conv/0/b', shape: [4] }]);
    assert.equal(tf.memory().numTensors, tensors);
  });
});
