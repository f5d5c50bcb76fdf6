import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { MetricSpec } from '../../core/algorithm';
import type { StopConfig } from '../config/schema';
import { formatIteration, type Progress } from '../metrics';
import { JsonlWriter } from '../run-dir';
import { TensorBoardWriter } from '../tensorboard';

/** The metrics the learner loop itself produces, one set per iteration. */
/** The learner process's memory at the end of the iteration (`bench/soak.ts` watches them): a leak shows as growth. */
const memoryMetrics: readonly MetricSpec[] = [
  { key: 'rssMB', group: 'memory', reduce: 'last' },
  { key: 'heapUsedMB', group: 'memory', reduce: 'last' },
  { key: 'externalMB', group: 'memory', reduce: 'last' },
  { key: 'numTensors', group: 'memory', reduce: 'last' },
];

/** The figures of `memoryMetrics` now. */
export function memoryFigures(): Record<string, number> {
  const m = process.memoryUsage();
  const mb = (bytes: number) => Math.round((bytes / (1 << 20)) * 10) / 10;
  return { rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), externalMB: mb(m.external), numTensors: tf.memory().numTensors };
}

export const loopMetrics: readonly MetricSpec[] = [
  { key: 'iteration', group: 'runtime', reduce: 'last' },
  { key: 'envSteps', group: 'runtime', reduce: 'last' },
  { key: 'policyVersion', group: 'runtime', reduce: 'last' },
  { key: 'wallSeconds', group: 'perf', reduce: 'last' },
  { key: 'envStepsPerSecond', group: 'perf', reduce: 'last' },
  { key: 'sampleSeconds', group: 'perf', reduce: 'sum' },
  { key: 'updateSeconds', group: 'perf', reduce: 'sum' },
  ...memoryMetrics,
];

/** One iteration's record, as progress.jsonl holds it: the keys of all the run's MetricSpecs that have a value. */
export function iterationRecord(p: {
  counters: { iteration: number; envSteps: number; wallSeconds: number; policyVersion: number };
  work: { steps: number; sampleSeconds: number; updateSeconds: number; metrics: Record<string, number> };
  episodes: { episodeReturnMean: number; episodeLenMean: number; episodes: number };
  sampler: Record<string, number>;
  evaluation: Record<string, number>;
  /** `memoryFigures()`; absent: none in the record. */
  memory?: Record<string, number>;
}): Record<string, number> & Progress {
  const { iteration, envSteps, wallSeconds, policyVersion } = p.counters;
  const { steps, sampleSeconds, updateSeconds } = p.work;
  const envStepsPerSecond = steps / (sampleSeconds + updateSeconds);
  return { iteration, envSteps, wallSeconds, ...p.episodes, envStepsPerSecond, sampleSeconds, updateSeconds, policyVersion, ...p.sampler, ...p.work.metrics, ...p.evaluation, ...p.memory };
}

/** Metric specs by key; a key declared twice (an algorithm's `iteration`, say) is refused. */
export function metricIndex(specs: readonly MetricSpec[]): Map<string, MetricSpec> {
  const index = new Map<string, MetricSpec>();
  for (const s of specs) {
    if (index.has(s.key)) throw new Error(`metric "${s.key}" is declared twice (${index.get(s.key)!.group}/ and ${s.group}/)`);
    index.set(s.key, s);
  }
  return index;
}

/**
 * One iteration's update metrics, reduced by their specs: an on-policy iteration has one
 * update, an off-policy one has many. A key with no spec is an error naming `source`: a new
 * metric has to say where it is charted.
 */
export class UpdateMetrics {
  private readonly values = new Map<string, number[]>();

  constructor(
    private readonly specs: Map<string, MetricSpec>,
    private readonly source: string,
  ) {}

  add(metrics: Record<string, number>): void {
    for (const [key, value] of Object.entries(metrics)) {
      if (!this.specs.has(key)) throw new Error(`${this.source}: update() returned metric "${key}", which its \`metrics\` does not declare (add a MetricSpec with its TensorBoard group)`);
      let list = this.values.get(key);
      if (!list) this.values.set(key, (list = []));
      list.push(value);
    }
  }

  /** Each key's values over the iteration: mean, sum or last, as its spec says; keys never seen are absent. */
  reduce(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, xs] of this.values) {
      const how = this.specs.get(key)!.reduce;
      const sum = xs.reduce((a, b) => a + b, 0);
      out[key] = how === 'last' ? xs[xs.length - 1] : how === 'sum' ? sum : sum / xs.length;
    }
    return out;
  }
}

/** The TensorBoard scalars of a record: `<group>/<key>` (or the spec's `tag`) for every key; an undeclared key throws. */
export function recordScalars(specs: Map<string, MetricSpec>, record: Record<string, number>): Record<string, number> {
  const scalars: Record<string, number> = {};
  for (const [key, value] of Object.entries(record)) {
    const spec = specs.get(key);
    if (!spec) throw new Error(`metric "${key}" in the iteration record has no MetricSpec (declare it where it is produced, with its TensorBoard group)`);
    scalars[spec.tag ?? `${spec.group}/${key}`] = value;
  }
  return scalars;
}

/**
 * Where an iteration's record goes: a line of progress.jsonl, an event of TensorBoard scalars
 * at its env step, and one line on the console (the specs with a `label`).
 */
export class IterationLog {
  private readonly specs: Map<string, MetricSpec>;
  private readonly labels: [key: string, label: string][];
  private readonly progress: JsonlWriter;
  private readonly tensorboard: TensorBoardWriter;

  constructor(
    runDir: string,
    specs: readonly MetricSpec[],
    private readonly stop: StopConfig,
    private readonly log: (line: string) => void,
    /** A resumed run's first env step to come: TensorBoard drops the events an earlier attempt wrote from there on. */
    restartStep?: number,
  ) {
    this.specs = metricIndex(specs);
    this.labels = specs.filter((s) => s.label !== undefined).map((s) => [s.key, s.label!]);
    this.progress = new JsonlWriter(path.join(runDir, 'progress.jsonl'));
    this.tensorboard = new TensorBoardWriter(runDir, { log });
    if (restartStep !== undefined) this.tensorboard.restartAt(restartStep);
  }

  write(record: Record<string, number> & Progress): void {
    const scalars = recordScalars(this.specs, record); // first: an undeclared key stops before anything is written
    this.progress.write(record);
    this.tensorboard.writeScalars(record.envSteps, scalars);
    this.log(formatIteration(this.stop, record, this.labels));
  }

  close(): void {
    this.progress.close();
    this.tensorboard.close();
  }
}
