import type { ResetOptions } from './env';
import type { Rng } from './rng';

/**
 * The start state of a classic-control env: `options.state` when given (an exact physical
 * state, to reproduce an episode), else each component uniform in [-bound, bound].
 */
export function initialState(opts: ResetOptions, rng: Rng, size: number, bound: number, envId: string): number[] {
  const given = opts.options?.state;
  if (given !== undefined) {
    if (!Array.isArray(given) || given.length !== size || !given.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new RangeError(`${envId}: reset options.state must be ${size} finite numbers, got ${JSON.stringify(given)}`);
    }
    return [...given];
  }
  return Array.from({ length: size }, () => rng.uniform(-bound, bound));
}
