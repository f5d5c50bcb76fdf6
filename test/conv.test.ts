import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { ActorCritic } from '../algorithms/ppo/actor-critic';
import { ConvEncoder, convInputShape, type ConvLayer } from '../algorithms/common/conv';
import { FlatParams } from '../algorithms/common/flat-model';
import { Rng } from '../envs';
import { selectBackend } from '../src/backend';
import { ConfigError } from '../core/errors';

type Shape = [number, number, number];

/** An encoder whose weights and biases are all random (biases start at 0 otherwise). */
function makeEncoder(shape: Shape, layers: ConvLayer[], seed = 1) {
  const rng = new Rng(seed);
  const params = new FlatParams();
  const encoder = new ConvEncoder(params, 'conv', shape, layers, rng);
  params.setWeights(params.getWeights().map((w) => ({ ...w, data: Float32Array.from(w.data, () => rng.normal() * 0.5) })));
  return { params, encoder };
}

/** The same layers through tf.conv2d, reading the encoder's weights. */
function reference(p: Record<string, tf.Tensor>, x: tf.Tensor, shape: Shape, layers: ConvLayer[]): tf.Tensor {
  let h = tf.reshape(x, [-1, ...shape]) as tf.Tensor4D;
  let c = shape[2];
  layers.forEach((l, i) => {
    const filter = tf.reshape(p[`conv/${i}/w`], [l.kernel, l.kernel, c, l.filters]) as tf.Tensor4D;
    h = tf.relu(tf.add(tf.conv2d(h, filter, l.stride, l.padding), p[`conv/${i}/b`])) as tf.Tensor4D;
    c = l.filters;
  });
  return tf.reshape(h, [x.shape[0], -1]);
}

const conv = (filters: number, kernel: number, stride = 1, padding: ConvLayer['padding'] = 'valid'): ConvLayer => ({ filters, kernel, stride, padding });

/**
 * Outputs, parameter gradients and input gradients of sum(f(x) * r) on the active backend, for
 * the encoder (`ours`) or tf.conv2d's autodiff (`reference`), with seeded x, r and weights: the
 * same numbers whichever backend computes them, up to rounding.
 */
function pass(shape: Shape, layers: ConvLayer[], which: 'ours' | 'reference'): { out: Float32Array; dParams: Float32Array; dx: Float32Array } {
  const { params, encoder } = makeEncoder(shape, layers);
  const rng = new Rng(2);
  const size = shape[0] * shape[1] * shape[2];
  const x = tf.tensor2d(Float32Array.from({ length: 3 * size }, () => rng.normal()), [3, size]);
  const f = (p: Record<string, tf.Tensor>, xs: tf.Tensor) => (which === 'ours' ? encoder.apply(p, xs, true) : reference(p, xs, shape, layers));
  const out = tf.tidy(() => f(params.unpack(), x));
  const r = tf.tensor2d(Float32Array.from({ length: out.size }, () => rng.normal()), out.shape as [number, number]);
  const loss = (input: tf.Tensor) => tf.sum(tf.mul(f(params.unpack(), input), r)) as tf.Scalar;
  const dParams = tf.tidy(() => Object.values(tf.variableGrads(() => loss(x), [params.variable]).grads)[0]);
  const dx = tf.tidy(() => tf.grad(loss)(x));
  const result = { out: out.dataSync() as Float32Array, dParams: dParams.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array };
  tf.dispose([x, r, out, dParams, dx]);
  encoder.dispose();
  params.dispose();
  return result;
}

const cases: [string, Shape, ConvLayer[]][] = [
  ['1 channel, stride 1', [10, 5, 1], [conv(4, 3)]],
  ['1 channel, stride 2', [10, 5, 1], [conv(4, 3, 2)]],
  ['3 channels, stride 1', [7, 6, 3], [conv(5, 3)]],
  ['3 channels, stride 2', [7, 6, 3], [conv(5, 3, 2)]],
  ['3 channels, same padding, stride 2', [7, 6, 3], [conv(5, 3, 2, 'same')]],
  ['two layers', [8, 7, 3], [conv(6, 3), conv(4, 2, 2)]],
  ['two layers, same padding', [6, 5, 2], [conv(4, 3, 1, 'same'), conv(3, 2, 2, 'same')]],
  ['an even kernel, same padding (the odd pixel after)', [7, 6, 2], [conv(3, 4, 1, 'same')]],
  ['a stride larger than the kernel, same padding', [9, 8, 2], [conv(3, 2, 3, 'same')]],
  ['the Nature CNN strides (8/4, then 4/2) on a small image', [29, 28, 2], [conv(4, 8, 4), conv(6, 4, 2)]],
];

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} != ${expected[i]}`);
  }
}

describe('ConvEncoder on the cpu backend', () => {
  before(async () => {
    await selectBackend('cpu');
  });

  for (const [label, shape, layers] of cases) {
    it(`gives tf.conv2d + bias + relu's outputs and gradients (${label})`, () => {
      const { params, encoder } = makeEncoder(shape, layers);
      const rng = new Rng(2);
      const b = 3;
      const size = shape[0] * shape[1] * shape[2];
      const x = tf.tensor2d(Float32Array.from({ length: b * size }, () => rng.normal()), [b, size]);
      const ours = tf.tidy(() => encoder.apply(params.unpack(), x));
      const theirs = tf.tidy(() => reference(params.unpack(), x, shape, layers));
      assert.deepEqual(ours.shape, theirs.shape);
      assert.equal(ours.shape[1], encoder.outputSize);
      assert.equal(encoder.outputSize, encoder.outputShape.reduce((a, d) => a * d, 1));
      close(ours.dataSync(), theirs.dataSync(), 'output');
      assert.ok(ours.dataSync().some((v) => v > 0), 'every output is 0: relu hides everything');

      // A random weighting of the outputs, so that every output's gradient differs.
      const r = tf.tensor2d(Float32Array.from({ length: ours.size }, () => rng.normal()), ours.shape as [number, number]);
      const loss = (f: (p: Record<string, tf.Tensor>, x: tf.Tensor) => tf.Tensor) => (input: tf.Tensor) => tf.sum(tf.mul(f(params.unpack(), input), r)) as tf.Scalar;
      const ourLoss = loss((p, xs) => encoder.apply(p, xs, true));
      const theirLoss = loss((p, xs) => reference(p, xs, shape, layers));
      const gp = [ourLoss, theirLoss].map((f) => tf.tidy(() => Object.values(tf.variableGrads(() => f(x), [params.variable]).grads)[0]));
      const gx = [ourLoss, theirLoss].map((f) => tf.tidy(() => tf.grad(f)(x)));
      close(gp[0].dataSync(), gp[1].dataSync(), 'd/dparams');
      close(gx[0].dataSync(), gx[1].dataSync(), 'd/dx');
      assert.ok(gp[0].dataSync().every((v) => Number.isFinite(v)) && gx[0].dataSync().some((v) => v !== 0));
      tf.dispose([x, r, ours, theirs, ...gp, ...gx]);
      encoder.dispose();
      params.dispose();
    });
  }

  it('lays the weights out as the flattened HWIO filter with orthogonal columns of norm sqrt 2', () => {
    const params = new FlatParams();
    const encoder = new ConvEncoder(params, 'conv', [10, 5, 1], [conv(8, 3), conv(4, 3)], new Rng(0));
    const w = params.getWeights();
    assert.deepEqual(w.map((t) => [t.name, t.shape]), [['conv/0/w', [9, 8]], ['conv/0/b', [8]], ['conv/1/w', [72, 4]], ['conv/1/b', [4]]]);
    assert.deepEqual(encoder.outputShape, [6, 1, 4]);
    const [w1] = w.filter((t) => t.name === 'conv/1/w');
    for (let f = 0; f < 4; f++) {
      let sq = 0;
      for (let r = 0; r < 72; r++) sq += w1.data[r * 4 + f] ** 2;
      assert.ok(Math.abs(sq - 2) < 1e-4, `column ${f}: squared norm ${sq}`);
    }
    encoder.dispose();
    params.dispose();
  });
});

describe('ConvEncoder on the wasm backend', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  /** One Adam step on sum(encoder(x)^2); returns the loss. */
  function step(params: FlatParams, encoder: ConvEncoder, optimizer: tf.Optimizer, x: tf.Tensor): number {
    return tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(encoder.apply(params.unpack(), x))) as tf.Scalar, [params.variable]);
      optimizer.applyGradients(grads);
      return value.dataSync()[0];
    });
  }

  it("gives, on wasm, the outputs and gradients tf.conv2d's autodiff gives on cpu (the Nature CNN strides, same padding, a stride past the kernel)", async () => {
    // wasm has no Conv2DBackpropFilter, so the reference runs on cpu; the written-out gradient on wasm runs XNNPACK's dilated convs.
    const wanted = ['3 channels, same padding, stride 2', 'a stride larger than the kernel, same padding', 'the Nature CNN strides (8/4, then 4/2) on a small image'];
    for (const [label, shape, layers] of cases.filter(([label]) => wanted.includes(label))) {
      await selectBackend('cpu');
      const theirs = pass(shape, layers, 'reference');
      await selectBackend('wasm');
      const ours = pass(shape, layers, 'ours');
      close(ours.out, theirs.out, `${label}: output`);
      close(ours.dParams, theirs.dParams, `${label}: d/dparams`);
      close(ours.dx, theirs.dx, `${label}: d/dx`);
      assert.ok(ours.dx.some((v) => v !== 0), `${label}: the input gradient is not all zeros`);
    }
  });

  it('takes gradient steps without a missing kernel, and leaks no tensors across a forward and backward pass', () => {
    const shape: Shape = [10, 10, 3];
    const { params, encoder } = makeEncoder(shape, [conv(8, 3), conv(8, 3, 2)]);
    const optimizer = tf.train.adam(0.01);
    const rng = new Rng(3);
    const x = tf.tensor2d(Float32Array.from({ length: 4 * 300 }, () => rng.normal()), [4, 300]);
    const before = params.getWeights();
    const first = step(params, encoder, optimizer, x); // also creates Adam's moments
    const tensors = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 5; i++) last = step(params, encoder, optimizer, x);
    assert.equal(tf.memory().numTensors, tensors);
    assert.ok(last < first, `the loss did not fall: ${first} -> ${last}`);
    assert.ok(params.getWeights().every((w, i) => w.data.some((v, j) => v !== before[i].data[j])), 'some tensor did not change');
    tf.dispose(x);
    optimizer.dispose();
    encoder.dispose();
    params.dispose();
  });

  it('reads uint8 observations (bytes, as an int32 tensor) as the floats they stand for, in training and inference', () => {
    const { params, encoder } = makeEncoder([6, 5, 2], [conv(3, 3)]);
    const bytes = Uint8Array.from({ length: 2 * 60 }, (_, i) => (i * 37) % 256);
    const [a, b, c] = tf.tidy(() => {
      const p = params.unpack();
      return [encoder.apply(p, tf.tensor2d(bytes, [2, 60], 'int32')), encoder.infer(p, tf.tensor2d(bytes, [2, 60], 'int32')), encoder.apply(p, tf.tensor2d(Float32Array.from(bytes), [2, 60]))];
    });
    assert.equal(a.dtype, 'float32');
    close(a.dataSync(), c.dataSync(), 'apply');
    close(b.dataSync(), c.dataSync(), 'infer');
    tf.dispose([a, b, c]);
    params.dispose();
  });

  it('makes no tensors of its own: its memory is its parameters and the activations of a pass', () => {
    const tensors = tf.memory().numTensors;
    const params = new FlatParams();
    const encoder = new ConvEncoder(params, 'conv', [84, 84, 4], [conv(32, 8, 4), conv(64, 4, 2), conv(64, 3)], new Rng(0));
    assert.equal(tf.memory().numTensors, tensors);
    assert.deepEqual(encoder.outputShape, [7, 7, 64]);
    encoder.dispose();
    params.dispose();
  });
});

describe('model.conv', () => {
  const model = { hiddenSizes: [8], activation: 'tanh' as const, sharedLayers: false, conv: [conv(4, 3)] };
  const discrete = { type: 'Discrete' as const, n: 3 };

  it('applies only to image observations, and says so otherwise', () => {
    const image = { type: 'Box' as const, shape: [10, 5, 1], low: Array(50).fill(0), high: Array(50).fill(1) };
    const flat = { type: 'Box' as const, shape: [4], low: Array(4).fill(-1), high: Array(4).fill(1) };
    assert.deepEqual(convInputShape(model, image), [10, 5, 1]);
    assert.equal(convInputShape({ ...model, conv: [] }, flat), null);
    assert.equal(convInputShape({ ...model, conv: undefined }, flat), null);
    assert.throws(
      () => new ActorCritic({ observationSpace: flat, actionSpace: discrete }, model, 0),
      (err: Error) => err instanceof ConfigError && err.message === "model.conv (1 layers) needs an image observation space Box(h, w, c), but the env's is Box(4); remove model.conv for this env",
    );
    assert.throws(() => convInputShape(model, discrete), /model\.conv .* but the env's is Discrete\(3\)/);
  });

  it('names the layer whose kernel does not fit its input', () => {
    assert.throws(
      () => new ConvEncoder(new FlatParams(), 'conv', [10, 5, 1], [conv(4, 3), conv(4, 5)], new Rng(0)),
      (err: Error) => err instanceof ConfigError && err.message === 'model.conv[1].kernel (5) is larger than its 8 x 3 input (padding: valid); use a smaller kernel or padding: same',
    );
  });
});
