import type { SamplingPolicy } from '../core/algorithm';
import { createEnv } from './env-loader';
import { Rng, deriveSeed } from '../core/rng';
import { VectorEnv } from '../envs/vector-env';

export interface EvaluationResult {
  episodes: number;
  returnMean: number;
  returnStd: number;
  returnMin: number;
  returnMax: number;
  lengthMean: number;
}

/**
 * Runs `episodes` whole episodes with `policy` on fresh envs (never the training envs) and
 * summarises their returns. Up to 16 envs step together; env i runs its fixed share of the
 * episodes, so that short episodes are not over-counted by finishing first.
 */
export function evaluatePolicy(opts: {
  policy: SamplingPolicy;
  envId: string;
  envConfig: Record<string, unknown>;
  episodes: number;
  seed: number;
  deterministic: boolean;
  onEpisode?: (done: number) => void;
}): EvaluationResult {
  const numEnvs = Math.min(16, opts.episodes);
  const quota = Array.from({ length: numEnvs }, (_, i) => Math.floor(opts.episodes / numEnvs) + (i < opts.episodes % numEnvs ? 1 : 0));
  const envs = new VectorEnv(opts.envId, Array.from({ length: numEnvs }, () => createEnv(opts.envId, opts.envConfig)));
  const rng = new Rng(deriveSeed(opts.seed, 0x5eed));
  let obs = envs.reset(Array.from({ length: numEnvs }, (_, i) => deriveSeed(opts.seed, 0xe7a1, i)));
  const returns: number[] = [];
  const lengths: number[] = [];
  const space = envs.actionSpace;
  try {
    while (quota.some((q) => q > 0)) {
      let actions = opts.policy.act(obs, numEnvs, rng, { deterministic: opts.deterministic }).actions;
      if (space.type === 'Box') actions = space.clip(actions);
      const step = envs.step(actions);
      for (const ep of step.finished) {
        if (quota[ep.env] === 0) continue; // this env has run its share; its extra episodes don't count
        quota[ep.env] -= 1;
        returns.push(ep.return);
        lengths.push(ep.length);
        opts.onEpisode?.(returns.length);
      }
      obs = step.obs;
    }
  } finally {
    envs.close();
  }
  return summarise(returns, lengths);
}

/** Mean, std, min and max of episode returns, and the mean length. */
export function summarise(returns: number[], lengths: number[]): EvaluationResult {
  const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
  return {
    episodes: returns.length,
    returnMean: mean,
    returnStd: Math.sqrt(returns.reduce((s, r) => s + (r - mean) ** 2, 0) / returns.length),
    returnMin: Math.min(...returns),
    returnMax: Math.max(...returns),
    lengthMean: lengths.reduce((a, b) => a + b, 0) / lengths.length,
  };
}
