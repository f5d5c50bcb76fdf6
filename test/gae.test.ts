import { strict as assert } from 'node:assert';
import { computeGae } from '../algorithms/common/gae';

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-5): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) < tol, `index ${i}: ${actual[i]} != ${e}`));
}

describe('GAE', () => {
  // One env, three steps: step 0 continues, step 1 is truncated by a time limit (the value of
  // its final observation is 4), step 2 starts a new episode and is cut by the batch end
  // (bootstrap value 2). gamma = 0.9, lambda = 0.5.
  //   delta2 = 1 + 0.9*2 - 1.5 = 1.3               A2 = 1.3
  //   delta1 = 1 + 0.9*4 - 2   = 2.6               A1 = 2.6 (the chain is cut after a truncation)
  //   delta0 = 1 + 0.9*2 - 3   = -0.2              A0 = -0.2 + 0.9*0.5*2.6 = 0.97
  it('bootstraps a truncation from its final observation and cuts the chain there', () => {
    const { advantages, returns } = computeGae({
      rewards: Float32Array.of(1, 1, 1),
      values: Float32Array.of(3, 2, 1.5),
      nextValues: Float32Array.of(2, 4, 2),
      terminated: Uint8Array.of(0, 0, 0),
      truncated: Uint8Array.of(0, 1, 0),
      numEnvs: 1,
      length: 3,
      gamma: 0.9,
      lambda: 0.5,
    });
    close(advantages, [0.97, 2.6, 1.3]);
    close(returns, [3.97, 4.6, 2.8]);
  });

  it('bootstraps nothing past a termination', () => {
    // Same numbers, but step 1 terminates: delta1 = 1 - 2 = -1, A0 = -0.2 + 0.45*(-1) = -0.65.
    const { advantages } = computeGae({
      rewards: Float32Array.of(1, 1, 1),
      values: Float32Array.of(3, 2, 1.5),
      nextValues: Float32Array.of(2, 4, 2),
      terminated: Uint8Array.of(0, 1, 0),
      truncated: Uint8Array.of(0, 0, 0),
      numEnvs: 1,
      length: 3,
      gamma: 0.9,
      lambda: 0.5,
    });
    close(advantages, [-0.65, -1, 1.3]);
  });

  it('keeps envs apart in a time-major batch', () => {
    // Two envs, two steps, rows [t0e0, t0e1, t1e0, t1e1]; env 1 terminates at t0.
    // e0: d1 = 1 + 0.5*1 - 1 = 0.5, d0 = 0 + 0.5*1 - 1 = -0.5, A0 = -0.5 + 0.5*1*0.5 = -0.25
    // e1: d0 = 2 - 1 = 1 (terminated), d1 = 0 + 0.5*3 - 1 = 0.5
    const { advantages } = computeGae({
      rewards: Float32Array.of(0, 2, 1, 0),
      values: Float32Array.of(1, 1, 1, 1),
      nextValues: Float32Array.of(1, 9, 1, 3),
      terminated: Uint8Array.of(0, 1, 0, 0),
      truncated: Uint8Array.of(0, 0, 0, 0),
      numEnvs: 2,
      length: 2,
      gamma: 0.5,
      lambda: 1,
    });
    close(advantages, [-0.25, 1, 0.5, 0.5]);
  });
});
