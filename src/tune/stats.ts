import { Rng } from '../../core/rng';

/**
 * Scores over many seeds, as Agarwal et al. 2021 ("Deep RL at the Edge of the Statistical
 * Precipice", the `rliable` library) report them: the interquartile mean and a percentile
 * bootstrap interval over the runs.
 */

/**
 * The interquartile mean: the mean of what is left when floor(n/4) values are cut from each end
 * of the sorted list (scipy's `trim_mean(x, 0.25)`, which rliable uses). NaN for no values.
 */
export function iqm(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const cut = Math.floor(sorted.length / 4);
  const kept = sorted.slice(cut, sorted.length - cut);
  return kept.length === 0 ? NaN : kept.reduce((a, b) => a + b, 0) / kept.length;
}

/** The q-quantile (0..1) of sorted values, interpolated linearly between neighbours (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  if (sorted[lo] === sorted[hi]) return sorted[lo]; // Infinity - Infinity would be NaN
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * A percentile bootstrap interval of `statistic` over `values`: `resamples` resamples of n values
 * drawn with replacement (the draws from `rng`, or one seeded by `seed`), the statistic of each,
 * and the (1-level)/2 and (1+level)/2 quantiles of those.
 */
export function bootstrapInterval(
  values: readonly number[],
  opts: { statistic?: (v: readonly number[]) => number; resamples?: number; level?: number; seed?: number; rng?: { int(n: number): number } } = {},
): [number, number] {
  if (values.length === 0) return [NaN, NaN];
  const statistic = opts.statistic ?? iqm;
  const rng = opts.rng ?? new Rng(opts.seed ?? 0);
  const level = opts.level ?? 0.95;
  const stats = Array.from({ length: opts.resamples ?? 2000 }, () => statistic(values.map(() => values[rng.int(values.length)])));
  stats.sort((a, b) => a - b);
  return [quantile(stats, (1 - level) / 2), quantile(stats, (1 + level) / 2)];
}

/** The summary of one quantity over runs: its IQM, bootstrap 95% interval, and the values. */
export interface SeedSummary {
  /** The interquartile mean. */
  iqm: number;
  /** The percentile bootstrap 95% interval of the IQM. */
  ci95: [number, number];
  /** The runs' values, in seed order. */
  values: number[];
}

/** IQM and bootstrap interval of `values` (seeded: the same values give the same interval). */
export function summarize(values: number[], seed = 0): SeedSummary {
  return { iqm: iqm(values), ci95: bootstrapInterval(values, { seed }), values };
}
