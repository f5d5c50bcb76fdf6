import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { gradientStep, type Gradient, type LossFn } from '../algorithms/common/gradient-step';
import { FlatParams } from '../algorithms/common/flat-params';
import { NonFiniteError } from '../core/errors';
import { selectBackend } from '../src/backend';

/**
 * A linear model y = x w + b on two rows: x = [[1, 2, 0], [0, 1, 1]], targets [1, 0], w = 0,
 * b = 0. The errors are [-1, 0], the loss mean(err^2) = 0.5; dL/dw = mean(2 err x) = [-1, -2, 0],
 * dL/db = -1; the gradient's norm is sqrt(6).
 */
function linear(targets = [1, 0]): { params: FlatParams; lossFn: LossFn<'squaredError' | 'meanPrediction', 'error'> } {
  const params = new FlatParams();
  params.add('w', [3, 1], new Float32Array(3));
  params.add('b', [1], new Float32Array(1));
  const lossFn: LossFn<'squaredError' | 'meanPrediction', 'error'> = (p) => {
    const prediction = tf.reshape(tf.add(tf.matMul(tf.tensor2d([[1, 2, 0], [0, 1, 1]]), p.w as tf.Tensor2D), p.b), [-1]);
    const error = tf.sub(prediction, tf.tensor1d(targets));
    const loss = tf.mean(tf.square(error)) as tf.Scalar;
    return { loss, metrics: { squaredError: loss, meanPrediction: tf.mean(prediction) as tf.Scalar }, rows: { error } };
  };
  return { params, lossFn };
}

const place = { algorithm: 'test', where: () => 'step 1' };

describe('gradientStep', () => {
  before(async () => {
    await selectBackend('wasm');
  });

  it("applies the tape's gradient clipped to the global norm, returns the metrics and rows as numbers, and leaves no tensor behind", () => {
    const { params, lossFn } = linear();
    params.variable; // built before counting
    const optimizer = tf.train.sgd(1);
    const before = tf.memory().numTensors;
    const r = gradientStep(lossFn, params, optimizer, 1, place);
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(r.metrics, { squaredError: 0.5, meanPrediction: 0 });
    assert.deepEqual(Array.from(r.rows.error), [-1, 0]);
    // clipped to norm 1: minus the gradient / sqrt(6)
    const s = Math.sqrt(6);
    const got = Array.from(params.variable.dataSync());
    [1 / s, 2 / s, 0, 1 / s].forEach((v, i) => assert.ok(Math.abs(got[i] - v) < 1e-5, `theta[${i}] = ${got[i]}, expected ${v}`));
    optimizer.dispose();
    params.dispose();
  });

  it('gives a written-out gradient the same clipping and step, and takes its metrics from it, not from the tape', () => {
    const { params, lossFn } = linear();
    const optimizer = tf.train.sgd(0.5);
    params.variable;
    const before = tf.memory().numTensors;
    const writtenOut = (): Gradient<'squaredError' | 'meanPrediction', 'error'> => {
      const loss = tf.scalar(7);
      return { loss, metrics: { squaredError: loss, meanPrediction: tf.scalar(3) }, rows: { error: tf.tensor1d([5, 6]) }, grad: tf.tensor1d([0, 0, 0.3, -0.4]) };
    };
    const r = gradientStep(lossFn, params, optimizer, 10, place, writtenOut);
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(r.metrics, { squaredError: 7, meanPrediction: 3 });
    assert.deepEqual(Array.from(r.rows.error), [5, 6]);
    const got = Array.from(params.variable.dataSync());
    [0, 0, -0.15, 0.2].forEach((v, i) => assert.ok(Math.abs(got[i] - v) < 1e-6, `theta[${i}] = ${got[i]}, expected ${v}`)); // norm 0.5 < 10: not clipped
    optimizer.dispose();
    params.dispose();
  });

  it('refuses a step whose metric is NaN, naming the metric in words and where, and changes nothing (Adam moments included), leaving no tensor behind', () => {
    const { params, lossFn } = linear([NaN, 0]);
    const optimizer = tf.train.adam(0.1);
    params.variable;
    const before = tf.memory().numTensors;
    assert.throws(
      () => gradientStep(lossFn, params, optimizer, 1, place),
      (err: Error) => err instanceof NonFiniteError && /^test: the squared error is NaN in step 1; the step was not applied/.test(err.message),
    );
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(Array.from(params.variable.dataSync()), [0, 0, 0, 0]);
    assert.equal(optimizer.iterations, 0);
    optimizer.dispose();
    params.dispose();
  });

  it('refuses a step whose loss is finite but whose gradient is not, naming the gradient norm', () => {
    const params = new FlatParams();
    params.add('w', [2], new Float32Array(2));
    params.add('b', [1], new Float32Array(1));
    const optimizer = tf.train.sgd(1);
    // sqrt'(0) is infinite: the loss is 0, the gradient Infinity.
    const lossFn: LossFn<'value'> = (p) => {
      const loss = tf.add(tf.sum(tf.sqrt(p.w)), tf.sum(p.b)) as tf.Scalar;
      return { loss, metrics: { value: loss } };
    };
    params.variable;
    const before = tf.memory().numTensors;
    assert.throws(
      () => gradientStep(lossFn, params, optimizer, 1, place),
      (err: Error) => err instanceof NonFiniteError && /^test: the gradient norm is (Infinity|NaN) in step 1; the step was not applied/.test(err.message),
    );
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(Array.from(params.variable.dataSync()), [0, 0, 0]);
    optimizer.dispose();
    params.dispose();
  });
});
