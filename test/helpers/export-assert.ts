import { strict as assert } from 'node:assert';

/** How far an export's numbers may be from the project's: relative to the value (absolute below 1). */
export const TOL = 1e-5;

/** Heads (or states) within `TOL` of the project's. */
export function assertHeadsClose(actual: ArrayLike<number>, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} head values, expected ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  assert.ok(worst <= TOL, `${what}: heads differ by up to ${worst} (tolerance ${TOL})`);
}

/** Discrete actions equal; Box actions (clipped means) within `TOL`. */
export function assertSameActions(actual: ArrayLike<number | bigint>, expected: Float32Array, discrete: boolean, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} action values, expected ${expected.length}`);
  let differ = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]);
    if (discrete ? a !== expected[i] : Math.abs(a - expected[i]) > TOL * Math.max(1, Math.abs(expected[i]))) differ += 1;
  }
  assert.equal(differ, 0, `${what}: ${differ} of ${expected.length} greedy actions differ from the project's policy`);
}
