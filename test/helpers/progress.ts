import * as fs from 'node:fs';
import * as path from 'node:path';

/** The iteration records of a finished run's progress.jsonl; throws if the file is missing or a line is not JSON. */
export function progress(runDir: string): Record<string, number>[] {
  return fs.readFileSync(path.join(runDir, 'progress.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/**
 * The records of a running run's progress.jsonl so far: none before the file exists, and without a line
 * that does not parse (one being written, or torn by a kill).
 */
export function progressSoFar(runDir: string): Record<string, number>[] {
  const file = path.join(runDir, 'progress.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
}

/** What differs between two runs of the same numbers: timings, memory, and how the steps were sampled (workers, restarts, lag). */
const TIMING_KEYS = ['wallSeconds', 'envStepsPerSecond', 'sampleSeconds', 'updateSeconds', 'liveWorkers', 'rejectedMessages', 'workerRestarts', 'droppedBatches', 'otherLearnerBatches', 'envErrors', 'policyLagMean', 'policyLagMax', 'sampledStepsPerSecond', 'workerStepsPerSecondMin', 'workerStepsPerSecondMax', 'ignoredRequests', 'rssMB', 'heapUsedMB', 'externalMB', 'numTensors'];

/** Iteration records without `TIMING_KEYS`: a local run's and a worker run's of the same seed are equal. */
export function withoutTiming(rows: Record<string, number>[]): Record<string, number>[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !TIMING_KEYS.includes(k))));
}
