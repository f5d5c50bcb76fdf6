import { DEFAULT_POLICY, type ActResult, type Algorithm, type Observation, type PolicyParams, type PolicySpec, type SamplingPolicy, type Weights } from '../../core/algorithm';
import type { Rng } from '../../core/rng';

/** The single-agent policy's spec of a run (`policySpecs().default`). */
export function specOf(algo: Pick<Algorithm, 'policySpecs'>): PolicySpec {
  return algo.policySpecs()[DEFAULT_POLICY];
}

/** The single-agent policy's params (weights and scalars) of a run. */
export function paramsOf(algo: Pick<Algorithm, 'getParams'>): PolicyParams {
  return algo.getParams()[DEFAULT_POLICY];
}

/** The single-agent policy's weights of a run. */
export function weightsOf(algo: Pick<Algorithm, 'getParams'>): Weights {
  return paramsOf(algo).weights;
}

/** Params of weights alone (a policy without scalars, or one whose scalars a test does not need). */
export function withWeights(weights: Weights, scalars: Record<string, number> = {}): PolicyParams {
  return { weights, scalars };
}

/** A feed-forward policy's act() on `numEnvs` observations mid-episode, without masks. */
export function actOn(policy: Pick<SamplingPolicy, 'act'>, obs: Observation, numEnvs: number, rng: Rng, deterministic = false): ActResult {
  return policy.act({ obs, numEnvs, state: {}, episodeStarts: new Uint8Array(numEnvs), mask: null, rng, deterministic });
}

/** Always the same action: a real policy, if not a clever one. */
export const constantPolicy = (action: number): SamplingPolicy => ({
  act: ({ numEnvs }) => ({ actions: new Float32Array(numEnvs).fill(action), columns: {}, state: {} }),
  setParams: () => {},
  dispose: () => {},
});

/** What a feed-forward policy's spec says of stepping: no state, Box actions clipped. */
export const feedForward = { state: [], boxActions: 'clip' as const };
