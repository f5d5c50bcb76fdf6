import type { ParamsById, TrajectoryBatch } from '../../core/algorithm';
import type { GameResult, MatchupDraw } from '../transport/protocol';
import { RolloutWorker } from './rollout-worker';

/** Params (weights and scalars, by policy id) as they come in, whichever message brought them, with a league's draw. */
export interface Incoming {
  policyVersion: number;
  params: ParamsById;
  draw?: MatchupDraw;
}

/** A worker's answer to one sample request: a single-agent batch, or a multi-agent run's batches and finished games. */
export type Answer = { type: 'batch'; batch: TrajectoryBatch } | { type: 'games'; batches: TrajectoryBatch[]; results: GameResult[] };

/**
 * What a worker's run samples with, whatever the env: a single-agent env's `RolloutWorker`
 * (`SingleAgentRollout`), or a multi-agent run's games (`MultiAgentRollout`). The worker
 * process keeps the protocol (requests, weights, heartbeats); this keeps the envs and policies.
 */
export interface WorkerRollout {
  /** The policy version of the params in use. */
  readonly policyVersion: number;
  /** The network policies of `params` whose weights must be this run's model's, or the one this run needs that `params` lacks. */
  networks(params: ParamsById): { ids: string[]; missing?: string };
  /** Swaps in `incoming` (between answers only). */
  setParams(incoming: Incoming): void;
  /** One answer, stepping between `due()` pauses (see `RolloutWorker.sampleAsync`); null once `abandon()` says so. */
  sampleAsync(due: () => boolean, onProgress: (stepsDone: number, total: number) => void, abandon: () => boolean): Promise<Answer | null>;
  /** After an env threw: the same run on fresh envs of `incarnation` (new env seeds), its policies and counters taken over; this one's envs closed. */
  recreate(incarnation: number): WorkerRollout;
  /** Closes the envs and the policies. */
  close(): void;
}

/** A single-agent env's worker: one `RolloutWorker`, the policy `spec.policyId` (`default`). */
export class SingleAgentRollout implements WorkerRollout {
  constructor(readonly worker: RolloutWorker) {}

  get policyVersion(): number {
    return this.worker.policyVersion;
  }

  networks(params: ParamsById): { ids: string[]; missing?: string } {
    const id = this.worker.opts.spec.policyId;
    return params[id] ? { ids: [id] } : { ids: [], missing: id };
  }

  setParams(incoming: Incoming): void {
    this.worker.setParams(incoming.params[this.worker.opts.spec.policyId], incoming.policyVersion);
  }

  async sampleAsync(due: () => boolean, onProgress: (stepsDone: number, total: number) => void, abandon: () => boolean): Promise<Answer | null> {
    const batch = await this.worker.sampleAsync(due, onProgress, abandon);
    return batch && { type: 'batch', batch };
  }

  recreate(incarnation: number): WorkerRollout {
    const old = this.worker;
    const fresh = new RolloutWorker({ ...old.opts, incarnation });
    old.envs.close();
    fresh.continueFrom(old); // shares the policy, which keeps its weights
    return new SingleAgentRollout(fresh);
  }

  close(): void {
    this.worker.close();
  }
}
