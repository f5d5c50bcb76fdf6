import type { MetricSpec, SamplingPolicy } from '../core/algorithm';
import { Stepper, type StepperSpec } from '../envs/stepper';
import { createEnv } from './env-loader';
import { Rng } from '../core/rng';
import type { EvaluationSeeds } from '../core/seed-streams';
import { VectorEnv } from '../envs/vector-env';

export interface EvaluationResult {
  episodes: number;
  returnMean: number;
  returnStd: number;
  returnMin: number;
  returnMax: number;
  lengthMean: number;
  /**
   * How many counted episodes ended with each `info.outcome` their env reported on the last
   * step (a string: TicTacToe-v0's `win`, `draw`, `loss`, `illegal`); absent when no episode's
   * env reported one.
   */
  outcomes?: Record<string, number>;
}

/** The metrics of an evaluation during training, as progress.jsonl names them; charted as `eval/returnMean`, ... */
export const evaluationMetrics: readonly MetricSpec[] = (['returnMean', 'returnStd', 'returnMin', 'returnMax', 'lengthMean'] as const).map((k) => ({
  key: `eval${k[0].toUpperCase()}${k.slice(1)}`,
  group: 'eval',
  reduce: 'last',
  tag: `eval/${k}`,
}));

/** An evaluation's result under the keys of `evaluationMetrics`. */
export function evaluationRecord(e: EvaluationResult): Record<string, number> {
  return { evalReturnMean: e.returnMean, evalReturnStd: e.returnStd, evalReturnMin: e.returnMin, evalReturnMax: e.returnMax, evalLengthMean: e.lengthMean };
}

/** What an evaluation (or a recorded one) plays: the policy, the env, how many episodes, with which seeds. */
export interface EvaluationRun {
  policy: SamplingPolicy;
  /** The policy's spec: its state and how its Box actions reach the env. */
  spec: StepperSpec;
  envId: string;
  envConfig: Record<string, unknown>;
  episodes: number;
  /** `seedStreams(seed).evaluation(round)`: the envs' and the actions' seeds. */
  seeds: EvaluationSeeds;
  deterministic: boolean;
  /** After each counted episode: how many are done, and that episode (`env`: which of the envs played it). */
  onEpisode?: (done: number, episode: { env: number; return: number; length: number }) => void;
}

/** The most envs an evaluation steps together. */
export const EVALUATION_ENVS = 16;

/**
 * Runs `episodes` whole episodes with `policy` on fresh envs (never the training envs) and
 * summarises their returns. Up to 16 envs step together; env i runs its fixed share of the
 * episodes, so that short episodes are not over-counted by finishing first.
 */
export function evaluatePolicy(opts: EvaluationRun): EvaluationResult {
  const numEnvs = Math.min(EVALUATION_ENVS, opts.episodes);
  const quota = Array.from({ length: numEnvs }, (_, i) => Math.floor(opts.episodes / numEnvs) + (i < opts.episodes % numEnvs ? 1 : 0));
  const envs = new VectorEnv(opts.envId, Array.from({ length: numEnvs }, () => createEnv(opts.envId, opts.envConfig)));
  const stepper = new Stepper(envs, opts.policy, opts.spec, new Rng(opts.seeds.actions), opts.deterministic);
  const returns: number[] = [];
  const lengths: number[] = [];
  const outcomes: (string | undefined)[] = [];
  try {
    stepper.reset(Array.from({ length: numEnvs }, (_, i) => opts.seeds.env(i)));
    while (quota.some((q) => q > 0)) {
      const { step } = stepper.step();
      for (const ep of step.finished) {
        if (quota[ep.env] === 0) continue; // this env has run its share; its extra episodes don't count
        quota[ep.env] -= 1;
        returns.push(ep.return);
        lengths.push(ep.length);
        outcomes.push(outcomeOf(step.infos[ep.env]));
        opts.onEpisode?.(returns.length, ep);
      }
    }
  } finally {
    envs.close();
  }
  return summarise(returns, lengths, outcomes);
}

/** An episode's `info.outcome` on its last step, when its env reports one (a string). */
export function outcomeOf(info: Record<string, unknown> | undefined): string | undefined {
  return typeof info?.outcome === 'string' ? info.outcome : undefined;
}

/** Mean, std, min and max of episode returns, the mean length, and the count of each reported outcome. */
export function summarise(returns: number[], lengths: number[], outcomes: (string | undefined)[] = []): EvaluationResult {
  const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
  const result: EvaluationResult = {
    episodes: returns.length,
    returnMean: mean,
    returnStd: Math.sqrt(returns.reduce((s, r) => s + (r - mean) ** 2, 0) / returns.length),
    returnMin: Math.min(...returns),
    returnMax: Math.max(...returns),
    lengthMean: lengths.reduce((a, b) => a + b, 0) / lengths.length,
  };
  const counts: Record<string, number> = {};
  for (const o of outcomes) if (o !== undefined) counts[o] = (counts[o] ?? 0) + 1;
  if (Object.keys(counts).length > 0) result.outcomes = counts;
  return result;
}

/** `outcomes` as one line: each outcome's count and share of the episodes, most frequent first (`win 95 (95.0%), draw 5 (5.0%)`). */
export function describeOutcomes(outcomes: Record<string, number>, episodes: number): string {
  return Object.entries(outcomes)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${k} ${n} (${((100 * n) / episodes).toFixed(1)}%)`)
    .join(', ');
}
