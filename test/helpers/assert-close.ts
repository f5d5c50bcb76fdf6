import { strict as assert } from 'node:assert';

/** Each `actual[i]` within `tol` of `expected[i]`, and the same length; a failure names `what[i]`. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (tolerance ${tol})`);
  }
}
