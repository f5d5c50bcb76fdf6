import { ACTION_MASK, type Observation, type TrajectoryBatch } from '../../core/algorithm';
import type { ActionColumn, Transitions } from './replay';

/**
 * One transition per step of a batch, with n-step returns: from row (t, env), the rewards
 * of up to `n` steps summed with discounting, and the state to bootstrap from with its
 * discount gamma^k (k the steps summed). The sum stops early at an episode's end: after a
 * termination the discount is 0 (no bootstrap); after a truncation the bootstrap state is
 * the episode's last observation (`finalObs`), not the next episode's first. It also stops
 * at the batch's end, bootstrapping from `nextObs` with fewer steps: a shorter return is
 * still a correct target for Q-learning, so no step waits for the next batch.
 *
 * Actions become Discrete indices (`int32`, the default) or stay the batch's float32 Box
 * actions (`float32`, `actionSize` a row).
 *
 * With action masks, each transition also gets the mask of its bootstrap state (`nextMasks`:
 * the next row's recorded mask, `nextMasks.next` past the batch's end, `nextMasks.final` after a
 * truncation), so that the target's max ranges over the actions legal there; after a
 * termination, where nothing is bootstrapped, all ones.
 */
export function nStepTransitions(batch: TrajectoryBatch, n: number, gamma: number): Transitions;
export function nStepTransitions(batch: TrajectoryBatch, n: number, gamma: number, actions: 'float32'): Transitions<Float32Array>;
export function nStepTransitions(batch: TrajectoryBatch, n: number, gamma: number, actions: 'int32' | 'float32' = 'int32'): Transitions<ActionColumn> {
  const N = batch.numEnvs;
  const T = batch.length;
  const rows = N * T;
  const d = batch.obs.length / rows;
  const finalRow = new Map<number, number>();
  // Observations keep their dtype (uint8 pictures stay uint8 in the replay buffer).
  const { obs, nextObs } = batch;
  const finalObs = batch.finalObs.obs;
  batch.finalObs.index.forEach((row, k) => finalRow.set(row, k));
  const masks = batch.nextMasks ? { rows: batch.columns[ACTION_MASK] as Uint8Array, ...batch.nextMasks } : null;
  const A = masks ? masks.rows.length / rows : 0;
  const nextMasks = masks ? new Uint8Array(rows * A) : null;
  const out: Transitions<ActionColumn> = {
    obs,
    actions: actions === 'int32' ? Int32Array.from(batch.actions) : batch.actions.slice(),
    rewards: new Float32Array(rows),
    nextObs: obs instanceof Uint8Array ? new Uint8Array(rows * d) : new Float32Array(rows * d),
    discounts: new Float32Array(rows),
    nextMasks,
  };
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < N; e++) {
      const row = t * N + e;
      let ret = 0;
      let discount = 1;
      let next: Observation | null = null;
      let nextMask: Uint8Array | null = null;
      for (let k = 0; k < n && t + k < T; k++) {
        const r = (t + k) * N + e;
        ret += discount * batch.rewards[r];
        discount *= gamma;
        if (batch.terminated[r]) {
          discount = 0;
          next = obs.subarray(r * d, (r + 1) * d); // unused: discount 0
          nextMask = null;
          break;
        }
        if (batch.truncated[r]) {
          const f = finalRow.get(r)!;
          next = finalObs.subarray(f * d, (f + 1) * d);
          nextMask = masks && masks.final.subarray(f * A, (f + 1) * A);
          break;
        }
        // Not ended: bootstrap from the step after r (or from nextObs past the batch's end).
        const inside = t + k + 1 < T;
        next = inside ? obs.subarray((r + N) * d, (r + N + 1) * d) : nextObs.subarray(e * d, (e + 1) * d);
        nextMask = masks && (inside ? masks.rows.subarray((r + N) * A, (r + N + 1) * A) : masks.next.subarray(e * A, (e + 1) * A));
      }
      out.rewards[row] = ret;
      out.discounts[row] = discount;
      out.nextObs.set(next!, row * d);
      if (nextMasks) {
        if (nextMask) nextMasks.set(nextMask, row * A);
        else nextMasks.fill(1, row * A, (row + 1) * A);
      }
    }
  }
  return out;
}
