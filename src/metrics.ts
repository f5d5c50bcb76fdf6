import type { MetricSpec } from '../core/algorithm';
import type { StopConfig } from './config/schema';

/** What `EpisodeWindow.metrics()` reports. */
export const episodeMetrics: readonly MetricSpec[] = [
  { key: 'episodeReturnMean', group: 'rollout', reduce: 'last' },
  { key: 'episodeLenMean', group: 'rollout', reduce: 'last' },
  { key: 'episodes', group: 'rollout', reduce: 'last' },
];

/** Returns and lengths of the last `size` finished episodes. */
export class EpisodeWindow {
  private readonly returns: number[] = [];
  private readonly lengths: number[] = [];
  total = 0;

  constructor(readonly size = 100) {}

  add(returns: ArrayLike<number>, lengths: ArrayLike<number>): void {
    for (let i = 0; i < returns.length; i++) {
      this.returns.push(returns[i]);
      this.lengths.push(lengths[i]);
      this.total += 1;
    }
    if (this.returns.length > this.size) {
      this.returns.splice(0, this.returns.length - this.size);
      this.lengths.splice(0, this.lengths.length - this.size);
    }
  }

  getState(): { returns: number[]; lengths: number[]; total: number } {
    return { returns: [...this.returns], lengths: [...this.lengths], total: this.total };
  }

  setState(s: { returns: number[]; lengths: number[]; total: number }): void {
    this.returns.splice(0, Infinity, ...s.returns);
    this.lengths.splice(0, Infinity, ...s.lengths);
    this.total = s.total;
  }

  /** NaN until an episode has finished. */
  get returnMean(): number {
    return mean(this.returns);
  }

  get lengthMean(): number {
    return mean(this.lengths);
  }

  /** The keys of `episodeMetrics`. */
  metrics(): { episodeReturnMean: number; episodeLenMean: number; episodes: number } {
    return { episodeReturnMean: this.returnMean, episodeLenMean: this.lengthMean, episodes: this.total };
  }
}

function mean(xs: number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

export interface Progress {
  iteration: number;
  envSteps: number;
  wallSeconds: number;
  episodeReturnMean: number;
  /** The mean return of this iteration's evaluation, if it ran one. */
  evalReturnMean?: number;
  /** The mean return of the evaluation before it, if there was one (since the start, or the resume). */
  previousEvalReturnMean?: number;
}

/**
 * Why the run should stop now, or undefined. The first condition reached ends the run.
 * `stop.evalReturnMean` must hold at two evaluations in a row: one evaluation of a few episodes
 * passes by luck too often (a policy whose true mean is below the bar, above it by chance).
 */
export function stopReason(stop: StopConfig, p: Progress): string | undefined {
  if (stop.episodeReturnMean !== undefined && p.episodeReturnMean >= stop.episodeReturnMean) {
    return `episodeReturnMean ${p.episodeReturnMean.toFixed(1)} >= ${stop.episodeReturnMean}`;
  }
  const t = stop.evalReturnMean;
  if (t !== undefined && p.evalReturnMean !== undefined && p.previousEvalReturnMean !== undefined && p.evalReturnMean >= t && p.previousEvalReturnMean >= t) {
    return `evalReturnMean ${p.previousEvalReturnMean.toFixed(1)}, then ${p.evalReturnMean.toFixed(1)} >= ${t} (two evaluations in a row)`;
  }
  if (stop.envSteps !== undefined && p.envSteps >= stop.envSteps) return `envSteps ${p.envSteps} >= ${stop.envSteps}`;
  if (stop.iterations !== undefined && p.iteration >= stop.iterations) return `iterations ${p.iteration} >= ${stop.iterations}`;
  if (stop.wallSeconds !== undefined && p.wallSeconds >= stop.wallSeconds) return `wallSeconds ${p.wallSeconds.toFixed(1)} >= ${stop.wallSeconds}`;
  return undefined;
}

/** How far the run is toward its nearest budget (steps, iterations, seconds), 0..1; undefined with none set. */
export function budgetFraction(stop: StopConfig, p: Progress): number | undefined {
  const fractions = [
    stop.envSteps && p.envSteps / stop.envSteps,
    stop.iterations && p.iteration / stop.iterations,
    stop.wallSeconds && p.wallSeconds / stop.wallSeconds,
  ].filter((f): f is number => typeof f === 'number');
  return fractions.length > 0 ? Math.min(1, Math.max(...fractions)) : undefined;
}

const n0 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** One readable console line per iteration. */
export function formatIteration(stop: StopConfig, p: Progress & Record<string, number>, metrics: [key: string, label: string][] = []): string {
  const frac = budgetFraction(stop, p);
  const target = stop.episodeReturnMean !== undefined ? `/${stop.episodeReturnMean}` : '';
  const parts = [
    `iter ${String(p.iteration).padStart(4)}`,
    `steps ${n0.format(p.envSteps).padStart(9)}${frac !== undefined ? ` ${(frac * 100).toFixed(0).padStart(3)}%` : ''}`,
    `${n0.format(p.envStepsPerSecond).padStart(6)} steps/s`,
    `return ${Number.isNaN(p.episodeReturnMean) ? '     -' : p.episodeReturnMean.toFixed(1).padStart(6)}${target}`,
  ];
  const losses = metrics
    .filter(([k]) => typeof p[k] === 'number')
    .map(([k, label]) => `${label} ${fmt(p[k])}`);
  if (losses.length > 0) parts.push(losses.join(' '));
  if (typeof p.evalReturnMean === 'number') parts.push(`eval ${p.evalReturnMean.toFixed(1)}`);
  if (p.liveWorkers > 0) parts.push(`workers ${p.liveWorkers}`);
  return parts.join(' | ');
}

function fmt(x: number): string {
  const a = Math.abs(x);
  return a !== 0 && (a < 0.01 || a >= 1000) ? x.toExponential(2) : x.toFixed(3);
}
