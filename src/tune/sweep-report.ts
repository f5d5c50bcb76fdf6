import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeHParams, type HParamsTrial } from './hparams';
import { bestConfig, bestYaml, trialsCsv, type TrialRecord } from './results';
import { checkParams, type Params } from './space';
import type { SeedSummary } from './stats';
import { summarize } from './stats';
import type { PlannedTrial, Running } from './trial';
import type { TuneSpec } from './tune-file';

/** What a sweep ends with. */
export interface SweepResult {
  /** Every finished trial, in trial order. */
  trials: TrialRecord[];
  /** The best configuration's index and values, if any trial reported the metric. */
  best?: { index: number; params: Params; metric: number; stepsToThreshold: number; file: string };
  /** Over seeds: the IQM and bootstrap 95% interval of the final metric and of the env steps to the threshold (Infinity: not reached). */
  seeds?: { metric: SeedSummary; stepsToThreshold?: SeedSummary };
}

/** trials.csv and the HParams data, rewritten from the finished and running trials. */
export function writeResults(dir: string, spec: TuneSpec, plan: PlannedTrial[], finished: Map<string, TrialRecord>, running: Map<string, Running>, created: number): void {
  const records = plan.flatMap((t) => (finished.has(t.id) ? [finished.get(t.id)!] : []));
  fs.writeFileSync(path.join(dir, 'trials.csv'), trialsCsv(records));
  const hp: HParamsTrial[] = records.map((r) => ({ id: r.id, params: r.params, seed: r.seed, metric: r.metric ?? undefined, envSteps: r.envSteps, status: r.status === 'error' ? 'failure' : 'success', startTime: r.startTime, endTime: r.endTime }));
  for (const r of running.values()) hp.push({ id: r.id, params: r.params, seed: r.seed, envSteps: 0, status: 'running', startTime: r.startTime });
  writeHParams(path.join(dir, 'tensorboard'), { space: spec.space, metric: spec.metric, trials: hp, created });
}

/**
 * best.yaml: the best configuration over its seeds, as its trials trained: the base config with
 * its values and the budget's stop.envSteps (a schedule over the run, lrSchedule: linear, follows
 * it), the base's seed. Under PBT a member's values change as it explores: the values are those
 * its best trial ended with (the way there is in pbt.jsonl), not those it started from.
 */
export function writeBest(dir: string, spec: TuneSpec, trials: TrialRecord[]): SweepResult['best'] {
  const score = bestConfig(trials, spec.mode);
  if (!score) return undefined;
  const sign = spec.mode === 'max' ? 1 : -1;
  const best = trials.filter((t) => t.index === score.index && t.metric !== null).sort((a, b) => sign * (b.metric! - a.metric!))[0];
  const params = best?.params ?? spec.configs[score.index].params;
  const config = checkParams(spec.configs[score.index].config, { ...params, name: `${spec.name}-best`, seed: spec.base.seed }, `best configuration ${score.index}`);
  const file = path.join(dir, 'best.yaml');
  fs.writeFileSync(file, bestYaml(config, score, spec.metric, dir));
  return { index: score.index, params, metric: score.metric, stepsToThreshold: score.stepsToThreshold, file };
}

/** Over the seeds of one configuration: IQM and interval of the final metric and of the steps to the threshold. */
export function seedSummary(trials: TrialRecord[], hasThreshold: boolean): SweepResult['seeds'] {
  const metric = summarize(trials.map((t) => t.metric ?? NaN).filter((v) => !Number.isNaN(v)));
  return hasThreshold ? { metric, stepsToThreshold: summarize(trials.map((t) => t.stepsToThreshold ?? Infinity)) } : { metric };
}

export function describeParams(params: Params, seed: number): string {
  const parts = Object.entries(params).map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(3) : JSON.stringify(v)}`);
  return [...parts, `seed=${seed}`].join(' ');
}

/** The sweep's outcome in a few lines: trials by status, the best configuration, and over seeds the IQM and intervals. */
export function describeSweep(result: SweepResult, metric: string): string {
  const counts = new Map<string, number>();
  for (const t of result.trials) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const lines = [`${result.trials.length} trials: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}`];
  const b = result.best;
  if (b) {
    const steps = Number.isFinite(b.stepsToThreshold) ? `, ${Math.round(b.stepsToThreshold).toLocaleString('en-US')} env steps to the threshold` : '';
    const values = Object.keys(b.params).length > 0 ? describeParams(b.params, NaN).replace(/ seed=NaN$/, '') : 'the base config';
    lines.push(`best: configuration ${b.index} (${values}): ${metric} ${b.metric.toFixed(2)}${steps}; ${b.file}`);
  }
  const s = result.seeds;
  if (s) {
    const show = (x: SeedSummary, digits: number) => `IQM ${x.iqm.toFixed(digits)}, 95% CI [${x.ci95[0].toFixed(digits)}, ${x.ci95[1].toFixed(digits)}] over ${x.values.length} seeds`;
    lines.push(`final ${metric}: ${show(s.metric, 2)}`);
    if (s.stepsToThreshold) lines.push(`env steps to the threshold: ${show(s.stepsToThreshold, 0)} (${s.stepsToThreshold.values.filter(Number.isFinite).length} reached it)`);
  }
  return lines.join('\n');
}
