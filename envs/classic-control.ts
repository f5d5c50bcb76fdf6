import type { Action, ResetOptions } from './env';
import type { Rng } from '../core/rng';
import { describeValue } from '../core/describe';
import type { Box } from '../core/spaces';

/**
 * The start state of a classic-control env: `options.state` when given (an exact physical
 * state, to reproduce an episode), else each component uniform in [-bound, bound].
 */
export function initialState(opts: ResetOptions, rng: Rng, size: number, bound: number, envId: string): number[] {
  return initialStateWithin(opts, rng, Array.from({ length: size }, () => [-bound, bound] as const), envId);
}

/**
 * As `initialState`, with a range per component: component i uniform in [low, high] of
 * `ranges[i]`, and exactly `low` (no draw) where low equals high.
 */
export function initialStateWithin(opts: ResetOptions, rng: Rng, ranges: readonly (readonly [number, number])[], envId: string): number[] {
  const size = ranges.length;
  const given = opts.options?.state;
  if (given !== undefined) {
    if (!Array.isArray(given) || given.length !== size || !given.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new RangeError(`${envId}: reset options.state must be ${size} finite numbers, got ${JSON.stringify(given)}`);
    }
    return [...given];
  }
  return ranges.map(([low, high]) => (low === high ? low : rng.uniform(low, high)));
}

/**
 * A Box action as Gymnasium's continuous classic-control envs take it: finite values of the
 * right length, which the env clips itself (so values outside the space are accepted).
 */
export function checkBoxAction(action: Action, space: Box, envId: string): Float32Array {
  if (action instanceof Float32Array && action.length === space.size && action.every((v) => Number.isFinite(v))) return action;
  const got = action instanceof Float32Array ? `[${Array.from(action).join(', ')}]` : describeValue(action);
  throw new RangeError(`${envId}: action must be a Float32Array of ${space.size} finite number(s) for ${space}, got ${got}`);
}
