import type { Algorithm, MetricSpec, Schedule, TrajectoryBatch } from '../../core/algorithm';
import type { UpdateMetrics } from './iteration-record';
import { assertFinite, type RunState } from './run-state';
import type { Sampler } from './sampler';

/** What one iteration of sampling and updating did, for its record. */
export interface IterationWork {
  steps: number;
  sampleSeconds: number;
  updateSeconds: number;
  /** The iteration's update metrics, reduced, and the driver's own (`queueMetrics`). */
  metrics: Record<string, number>;
}

/** What the queue driver reports of each iteration, beside the algorithm's metrics. */
export const queueMetrics: readonly MetricSpec[] = [
  { key: 'learnerBusy', group: 'perf', reduce: 'last', label: 'busy' },
  { key: 'queueDepth', group: 'runtime', reduce: 'last' },
  { key: 'updates', group: 'runtime', reduce: 'last' },
];

export interface DriverParts {
  algorithm: Algorithm;
  sampler: Sampler;
  run: RunState;
  /** A fresh reducer per iteration. */
  newMetrics: () => UpdateMetrics;
}

/** Samples and updates until an iteration's steps are in; chosen once per run by `driverFor`. */
export type Driver = () => Promise<IterationWork>;

/** The driver of an algorithm's schedule: on-policy (`sync`), off-policy (`async`) or from the learner queue (`queue`). */
export function driverFor(parts: DriverParts): Driver {
  const s = parts.algorithm.schedule;
  if (s.mode === 'sync') return () => onPolicyIteration(parts, s.trainBatchSize);
  if (s.mode === 'async') return () => offPolicyIteration(parts, s.stepsPerIteration);
  const cadence = { updates: 0 }; // updates since the last broadcast, across iterations
  return () => queueIteration(parts, s, cadence);
}

/** On-policy: collect `trainBatchSize` steps of the current weights, update once, broadcast. */
async function onPolicyIteration(parts: DriverParts, trainBatchSize: number): Promise<IterationWork> {
  const { sampler } = parts;
  const metrics = parts.newMetrics();
  const t0 = performance.now();
  const batches = await sampler.collect(trainBatchSize);
  const t1 = performance.now();
  const steps = await update(parts, batches, metrics);
  await broadcast(parts);
  return { steps, sampleSeconds: (t1 - t0) / 1000, updateSeconds: (performance.now() - t1) / 1000, metrics: metrics.reduce() };
}

/** Off-policy: update on each arriving batch, broadcast when the algorithm says so, until `stepsPerIteration`. */
async function offPolicyIteration(parts: DriverParts, stepsPerIteration: number): Promise<IterationWork> {
  const { algorithm, sampler } = parts;
  const metrics = parts.newMetrics();
  const work = { steps: 0, sampleSeconds: 0, updateSeconds: 0 };
  while (work.steps < stepsPerIteration) {
    const t0 = performance.now();
    const batches = await sampler.next();
    const t1 = performance.now();
    work.steps += await update(parts, batches, metrics);
    if (algorithm.syncDue?.()) {
      await broadcast(parts);
      algorithm.weightsBroadcast?.();
    }
    work.sampleSeconds += (t1 - t0) / 1000;
    work.updateSeconds += (performance.now() - t1) / 1000;
  }
  return { ...work, metrics: metrics.reduce() };
}

/**
 * Nobody waits: take the oldest `trainBatchSize` steps from the queue (the workers go on
 * sampling meanwhile), update, broadcast after every `broadcastEvery` updates, until
 * `stepsPerIteration`. The time waiting for the queue is `sampleSeconds`; `learnerBusy` is the
 * update's share of the iteration, `queueDepth` the mean of the batches left queued at each take.
 */
async function queueIteration(parts: DriverParts, s: Extract<Schedule, { mode: 'queue' }>, cadence: { updates: number }): Promise<IterationWork> {
  const { sampler } = parts;
  const metrics = parts.newMetrics();
  const work = { steps: 0, sampleSeconds: 0, updateSeconds: 0 };
  let updates = 0;
  let queued = 0;
  while (work.steps < s.stepsPerIteration) {
    const t0 = performance.now();
    const taken = await sampler.take(s.trainBatchSize);
    const t1 = performance.now();
    work.steps += await update(parts, taken.batches, metrics);
    updates += 1;
    queued += taken.queued;
    if (++cadence.updates >= s.broadcastEvery) {
      await broadcast(parts);
      cadence.updates = 0;
    }
    work.sampleSeconds += (t1 - t0) / 1000;
    work.updateSeconds += (performance.now() - t1) / 1000;
  }
  const busy = work.updateSeconds / (work.sampleSeconds + work.updateSeconds);
  return { ...work, metrics: { ...metrics.reduce(), learnerBusy: busy, queueDepth: queued / updates, updates } };
}

/** Counts the batches' steps and episodes, then runs the algorithm's update on them; returns the steps. */
async function update({ algorithm, run }: DriverParts, batches: TrajectoryBatch[], metrics: UpdateMetrics): Promise<number> {
  const steps = batches.reduce((s, b) => s + b.numEnvs * b.length, 0);
  for (const b of batches) run.episodes.add(b.episodes.returns, b.episodes.lengths);
  run.counters.envSteps += steps;
  run.sound = false;
  metrics.add(await algorithm.update(batches, { envSteps: run.counters.envSteps, policyVersion: run.counters.policyVersion }));
  run.sound = true;
  return steps;
}

/** Hands the workers the current weights as the next policyVersion; non-finite weights stop the run instead. */
export async function broadcast({ algorithm, sampler, run }: Pick<DriverParts, 'algorithm' | 'sampler' | 'run'>, opts: { initial?: boolean } = {}): Promise<void> {
  const params = algorithm.getParams();
  for (const [id, p] of Object.entries(params)) assertFinite(p.weights, run.counters.iteration + (opts.initial ? 0 : 1), `the weights of policy ${id} to broadcast`);
  if (!opts.initial) run.counters.policyVersion += 1;
  await sampler.broadcast(params, run.counters.policyVersion);
}
