import * as fs from 'node:fs';
import { configToYaml } from '../config/load';
import type { RunConfig } from '../config/schema';
import type { Params } from './space';

/** How a trial ended. */
export type TrialStatus = 'completed' | 'stopped' | 'terminated' | 'error';

/** One finished trial: a line of trials.jsonl and a row of trials.csv. */
export interface TrialRecord {
  /** `t007-s1`: configuration 7, seed 1; its run dir is trials/<id>. */
  id: string;
  /** The configuration's index (trials with the same index share their values). */
  index: number;
  /** The run's seed. */
  seed: number;
  /** The configuration's values, by dotted key. */
  params: Params;
  /** completed: its stop rule; stopped: by the scheduler at a rung; terminated: the sweep's wall time ran out; error: it failed. */
  status: TrialStatus;
  /** The metric's last value (null: none, or not a number). */
  metric: number | null;
  /** The metric at each rung the trial reached (ASHA), by the rung's resource. */
  rungs: Record<string, number | null>;
  /** Env steps when the metric first reached the stop rule's threshold on it, if it did. */
  stepsToThreshold: number | null;
  /** Env steps sampled. */
  envSteps: number;
  /** Training iterations. */
  iterations: number;
  /** Seconds from the trial's start to its end, as the sweep saw them (restarts included). */
  wallSeconds: number;
  /** The error, for status error: the run's last error line. */
  error?: string;
  /** The trial's run dir. */
  runDir: string;
  /** Where it ran, a launch each: `local`, or `agent NAME (pid N)` (a trial rescheduled from a lost agent names both). */
  ranOn?: string[];
  /** Unix seconds at its first start and at its end. */
  startTime: number;
  /** Unix seconds at its end. */
  endTime: number;
}

/** The finished trials of a sweep's trials.jsonl, the last line of each id winning; a line cut short by a kill is skipped. */
export function readTrials(file: string): Map<string, TrialRecord> {
  const out = new Map<string, TrialRecord>();
  if (!fs.existsSync(file)) return out;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    try {
      const r = JSON.parse(line) as TrialRecord;
      if (typeof r?.id === 'string') out.set(r.id, r);
    } catch {
      // empty, or cut short by a kill -9 mid-write: that trial runs again
    }
  }
  return out;
}

/** The table as CSV: the ids, values, status, metric, rungs, steps, time and error of each trial. */
export function trialsCsv(records: TrialRecord[]): string {
  const keys = [...new Set(records.flatMap((r) => Object.keys(r.params)))];
  const rungs = [...new Set(records.flatMap((r) => Object.keys(r.rungs)))].sort((a, b) => Number(a) - Number(b));
  const header = ['id', 'index', 'seed', ...keys, 'status', 'metric', ...rungs.map((r) => `rung_${r}`), 'stepsToThreshold', 'envSteps', 'iterations', 'wallSeconds', 'error'];
  const rows = records.map((r) => [r.id, r.index, r.seed, ...keys.map((k) => r.params[k]), r.status, r.metric, ...rungs.map((k) => r.rungs[k]), r.stepsToThreshold, r.envSteps, r.iterations, r.wallSeconds.toFixed(1), r.error]);
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A configuration's standing: its trials' mean metric and mean steps to the threshold. */
export interface ConfigScore {
  /** The configuration's index. */
  index: number;
  /** The mean metric of its trials with one. */
  metric: number;
  /** Trials that ran to their stop rule. */
  completed: number;
  /** The mean steps to the threshold over its trials, Infinity if any never reached it. */
  stepsToThreshold: number;
}

/**
 * The best configuration: among those with trials that ran to their end (else all), those whose
 * every trial reached the threshold first (fewest mean steps to it), then the best mean metric.
 */
export function bestConfig(records: TrialRecord[], mode: 'max' | 'min'): ConfigScore | undefined {
  const scores: ConfigScore[] = [];
  for (const index of new Set(records.map((r) => r.index))) {
    const mine = records.filter((r) => r.index === index);
    const metrics = mine.flatMap((r) => (r.metric === null ? [] : [r.metric]));
    if (metrics.length === 0) continue;
    const steps = mine.map((r) => r.stepsToThreshold ?? Infinity);
    scores.push({ index, metric: mean(metrics), completed: mine.filter((r) => r.status === 'completed').length, stepsToThreshold: mean(steps) });
  }
  const sign = mode === 'max' ? 1 : -1;
  scores.sort((a, b) => Number(b.completed > 0) - Number(a.completed > 0) || cmpSteps(a.stepsToThreshold, b.stepsToThreshold) || sign * (b.metric - a.metric));
  return scores[0];
}

function cmpSteps(a: number, b: number): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

/** best.yaml: the best configuration as a training config, ready for `rl train --config`, with a comment on where it came from. */
export function bestYaml(config: RunConfig, score: ConfigScore, metric: string, sweep: string): string {
  const steps = Number.isFinite(score.stepsToThreshold) ? `, ${Math.round(score.stepsToThreshold)} env steps to the threshold` : '';
  return `# The best configuration of the sweep ${sweep} (configuration ${score.index}): ${metric} ${score.metric.toFixed(2)}${steps}\n${configToYaml(config)}`;
}
