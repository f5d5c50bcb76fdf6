import * as fs from 'node:fs';

/**
 * What a trial's progress.jsonl says so far: where it is (env steps, iterations, seconds), its
 * metric, and when the metric first reached a threshold. Read whole at each look (the file is
 * small, and a resumed run rewrites it, cut back to its checkpoint).
 */
export interface TrialProgress {
  /** Records read. */
  records: number;
  /** Env steps at the last record. */
  envSteps: number;
  /** Iterations at the last record. */
  iterations: number;
  /** The run's own seconds at the last record. */
  wallSeconds: number;
  /** The metric's latest value (NaN: none yet, or not a number). */
  metric: number;
  /** Env steps at the first record whose metric reached `threshold`, if one did. */
  stepsToThreshold?: number;
  /** Per record: its env steps, iterations and the metric as it stood then (the latest value so far). */
  series: { envSteps: number; iterations: number; metric: number }[];
}

/** The progress of the run whose progress.jsonl is `file`; a missing file is no progress, a line cut short is skipped. */
export function readTrialProgress(file: string, metric: string, threshold?: { value: number; mode: 'max' | 'min' }): TrialProgress {
  const p: TrialProgress = { records: 0, envSteps: 0, iterations: 0, wallSeconds: 0, metric: NaN, series: [] };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return p;
  }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line);
    } catch {
      continue; // a line cut short by a kill
    }
    p.records += 1;
    p.envSteps = Number(r.envSteps) || 0;
    p.iterations = Number(r.iteration) || 0;
    p.wallSeconds = Number(r.wallSeconds) || 0;
    // null stands for NaN in JSON; a key absent from a record (evalReturnMean between evaluations) keeps the last value.
    if (metric in r) p.metric = typeof r[metric] === 'number' ? (r[metric] as number) : NaN;
    p.series.push({ envSteps: p.envSteps, iterations: p.iterations, metric: p.metric });
    const reached = threshold && (threshold.mode === 'max' ? p.metric >= threshold.value : p.metric <= threshold.value);
    if (reached && p.stepsToThreshold === undefined) p.stepsToThreshold = p.envSteps;
  }
  return p;
}
