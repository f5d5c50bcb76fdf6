import type { MetricSpec, ParamsById, TrajectoryBatch } from '../../core/algorithm';
import { validateBatch, type BatchExpectation } from '../transport/protocol';
import type { RolloutWorker, WorkerState } from './rollout-worker';

/** What a sampler's `stats()` may report (local mode: `liveWorkers` alone). */
export const samplerMetrics: readonly MetricSpec[] = [
  { key: 'liveWorkers', group: 'runtime', reduce: 'last' },
  { key: 'workerRestarts', group: 'runtime', reduce: 'last' },
  { key: 'rejectedMessages', group: 'runtime', reduce: 'last' },
  { key: 'ignoredRequests', group: 'runtime', reduce: 'last' },
  { key: 'droppedBatches', group: 'runtime', reduce: 'last' },
  { key: 'otherLearnerBatches', group: 'runtime', reduce: 'last' },
  { key: 'envErrors', group: 'runtime', reduce: 'last' },
  { key: 'policyLagMean', group: 'runtime', reduce: 'last' },
  { key: 'policyLagMax', group: 'runtime', reduce: 'last' },
  { key: 'sampledStepsPerSecond', group: 'perf', reduce: 'last' },
  { key: 'workerStepsPerSecondMin', group: 'perf', reduce: 'last' },
  { key: 'workerStepsPerSecondMax', group: 'perf', reduce: 'last' },
];

/**
 * A sampler's wait given up because the run was told to stop (SIGTERM, Ctrl-C) and no batch
 * is coming soon: the learner ends the run as interrupted, with a checkpoint of what it has.
 */
export class Interrupted extends Error {}

/**
 * Where the learner's batches come from. Local mode samples in the learner's own process;
 * the worker pool (over ZeroMQ) implements the same interface.
 */
export interface Sampler {
  /**
   * Batches of at least `minSteps` steps in all, each sampled by weights at most the pool's
   * `maxPolicyLag` versions older than the last broadcast (local mode: by the last broadcast).
   */
  collect(minSteps: number): Promise<TrajectoryBatch[]>;
  /**
   * Async mode: the batches that arrived since the last call (waiting for at least one), from
   * workers that sample without pause, whatever weights they hold.
   */
  next(): Promise<TrajectoryBatch[]>;
  /**
   * Queue mode: the oldest queued batches, whole, of at least `minSteps` steps in all (waiting
   * while fewer are queued), passing over and counting (`droppedBatches`) those sampled by
   * weights more than `maxPolicyLag` versions older than the last broadcast; and how many
   * batches are still queued after them. Workers sample without pause while the queue holds
   * fewer than its `queueSize`.
   */
  take(minSteps: number): Promise<{ batches: TrajectoryBatch[]; queued: number }>;
  /** Hands every worker the params (weights and scalars, by policy id) of `policyVersion`. */
  broadcast(params: ParamsById, policyVersion: number): Promise<void>;
  /** Figures for progress.jsonl, under the keys of `samplerMetrics`. */
  stats(): Record<string, number>;
  /** The workers' state, for a checkpoint (local mode: exact; remote workers: none). */
  getState(): WorkerState[];
  setState(states: WorkerState[]): void;
  close(): Promise<void>;
}

/**
 * `numWorkers: 0`: one RolloutWorker in this process, no sockets. Its batches pass the same
 * check as a worker's (`validateBatch`), so a policy that records what its spec does not
 * declare fails here, in local mode, and not first on a cluster.
 */
export class LocalSampler implements Sampler {
  constructor(
    readonly worker: RolloutWorker,
    private readonly expect: BatchExpectation,
  ) {}

  async collect(minSteps: number): Promise<TrajectoryBatch[]> {
    const batches: TrajectoryBatch[] = [];
    for (let steps = 0; steps < minSteps; ) {
      const batch = this.sample();
      batches.push(batch);
      steps += batch.numEnvs * batch.length;
    }
    return batches;
  }

  async next(): Promise<TrajectoryBatch[]> {
    return [this.sample()];
  }

  /** Local mode samples with the current weights only when asked: no queue, no lag. */
  async take(minSteps: number): Promise<{ batches: TrajectoryBatch[]; queued: number }> {
    return { batches: await this.collect(minSteps), queued: 0 };
  }

  private sample(): TrajectoryBatch {
    const batch = this.worker.sample();
    validateBatch(batch, this.expect);
    return batch;
  }

  async broadcast(params: ParamsById, policyVersion: number): Promise<void> {
    this.worker.setParams(params[this.worker.opts.spec.policyId], policyVersion);
  }

  stats(): Record<string, number> {
    return { liveWorkers: 0 };
  }

  getState(): WorkerState[] {
    return [this.worker.getState()];
  }

  setState(states: WorkerState[]): void {
    if (states[0]) this.worker.setState(states[0]);
  }

  async close(): Promise<void> {
    this.worker.close();
  }
}
