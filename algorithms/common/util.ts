import type { Rng } from '../../core/rng';

/** A random permutation of 0 .. n-1 (Fisher-Yates). */
export function shuffle(n: number, rng: Rng): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/** 1 - Var(returns - values) / Var(returns): how much of the return the value function explains. */
export function explainedVariance(values: Float32Array, returns: Float32Array): number {
  const n = returns.length;
  let meanR = 0;
  let meanD = 0;
  for (let i = 0; i < n; i++) {
    meanR += returns[i];
    meanD += returns[i] - values[i];
  }
  meanR /= n;
  meanD /= n;
  let varR = 0;
  let varD = 0;
  for (let i = 0; i < n; i++) {
    varR += (returns[i] - meanR) ** 2;
    varD += (returns[i] - values[i] - meanD) ** 2;
  }
  return varR === 0 ? NaN : 1 - varD / varR;
}
