import type { SamplingPolicy, TrajectoryBatch, Weights } from '../../core/algorithm';
import { createEnv } from '../env-loader';
import { Rng } from '../../core/rng';
import { seedStreams } from '../../core/seed-streams';
import { VectorEnv } from '../../envs/vector-env';

export interface RolloutWorkerOptions {
  workerId: number;
  envId: string;
  envConfig: Record<string, unknown>;
  numEnvs: number;
  rolloutLength: number;
  /** The run's seed; env i of worker w takes `seedStreams(seed).workerEnv(w, i, incarnation)`. */
  seed: number;
  /** Counts recreations after an env threw: each gets fresh env seeds, so the same failure is not replayed. */
  incarnation?: number;
  policy: SamplingPolicy;
}

/**
 * Steps a vector of envs with one batched forward pass per step and cuts the trajectories
 * into batches of `rolloutLength` steps per env. The same class samples in the learner's
 * process (local mode) and in every worker process.
 */
export class RolloutWorker {
  readonly envs: VectorEnv;
  readonly envSeeds: number[];
  policyVersion = 0;
  private seq = 0;
  private obs: Float32Array;
  private readonly rng: Rng;
  private readonly actionSize: number;

  constructor(readonly opts: RolloutWorkerOptions) {
    const { workerId, envId, envConfig, numEnvs, seed } = opts;
    this.envs = new VectorEnv(envId, Array.from({ length: numEnvs }, () => createEnv(envId, envConfig)));
    const incarnation = opts.incarnation ?? 0;
    const seeds = seedStreams(seed);
    this.envSeeds = Array.from({ length: numEnvs }, (_, i) => seeds.workerEnv(workerId, i, incarnation));
    this.rng = new Rng(seeds.workerActions(workerId));
    const space = this.envs.actionSpace;
    this.actionSize = space.type === 'Discrete' ? 1 : space.size;
    this.obs = this.envs.reset(this.envSeeds);
  }

  setWeights(weights: Weights, policyVersion: number): void {
    this.opts.policy.setWeights(weights);
    this.policyVersion = policyVersion;
  }

  /** Samples `rolloutLength` steps in every env with the current weights. */
  sample(): TrajectoryBatch {
    const steps = this.steps();
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
    }
  }

  /**
   * `sample()` that, between env steps, whenever `due()` says so, calls `onProgress` with the
   * env steps done so far and lets the event loop run: a worker's heartbeats go on while a
   * slow env samples, and it hears the learner. `due()` is called after every step: make it
   * cheap (a clock compare). Returns null, the batch unfinished, once `abandon()` says so.
   */
  async sampleAsync(due: () => boolean, onProgress: (stepsDone: number, total: number) => void, abandon: () => boolean): Promise<TrajectoryBatch | null> {
    const steps = this.steps();
    const total = this.opts.numEnvs * this.opts.rolloutLength;
    for (;;) {
      const r = steps.next();
      if (r.done) return r.value;
      if (due()) {
        onProgress(r.value, total); // before the yield: its send goes out in the microtasks the yield runs
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (abandon()) return null;
      }
    }
  }

  /** The sampling loop: yields the env steps done after each vector step, returns the batch. */
  private *steps(): Generator<number, TrajectoryBatch> {
    const { numEnvs: n, rolloutLength: T, policy } = this.opts;
    const obsSize = this.envs.obsSize;
    const rows = n * T;
    const obs = new Float32Array(rows * obsSize);
    const actions = new Float32Array(rows * this.actionSize);
    const rewards = new Float32Array(rows);
    const terminated = new Uint8Array(rows);
    const truncated = new Uint8Array(rows);
    const extras: Record<string, Float32Array> = {};
    const finalIndex: number[] = [];
    const finalObs: Float32Array[] = [];
    const returns: number[] = [];
    const lengths: number[] = [];

    for (let t = 0; t < T; t++) {
      const row = t * n;
      obs.set(this.obs, row * obsSize);
      const act = policy.act(this.obs, n, this.rng);
      actions.set(act.actions, row * this.actionSize);
      for (const [k, v] of Object.entries(act.extras)) {
        (extras[k] ??= new Float32Array(rows * (v.length / n))).set(v, row * (v.length / n));
      }
      // Box actions are sampled unbounded and clipped only on their way to the env (as SB3 does).
      const space = this.envs.actionSpace;
      const step = this.envs.step(space.type === 'Box' ? space.clip(act.actions) : act.actions);
      rewards.set(step.rewards, row);
      terminated.set(step.terminated, row);
      truncated.set(step.truncated, row);
      for (let i = 0; i < n; i++) {
        if (step.truncated[i]) {
          finalIndex.push(row + i);
          finalObs.push(step.finalObs[i]!);
        }
      }
      for (const ep of step.finished) {
        returns.push(ep.return);
        lengths.push(ep.length);
      }
      this.obs = step.obs;
      yield (t + 1) * n;
    }
    const flatFinal = new Float32Array(finalObs.length * obsSize);
    finalObs.forEach((o, k) => flatFinal.set(o, k * obsSize));
    return {
      workerId: this.opts.workerId,
      seq: this.seq++,
      policyVersion: this.policyVersion,
      numEnvs: n,
      length: T,
      obs,
      actions,
      rewards,
      terminated,
      truncated,
      extras,
      nextObs: this.obs.slice(),
      finalObs: { index: Int32Array.from(finalIndex), obs: flatFinal },
      episodes: { returns: Float32Array.from(returns), lengths: Int32Array.from(lengths) },
    };
  }

  /** The generator, the counters and (where the envs can say it) every env's state. */
  getState(): WorkerState {
    return { rng: this.rng.getState(), seq: this.seq, envs: this.envs.getState() ?? null };
  }

  /** Takes over a replaced worker's counters (after its envs were recreated). */
  continueFrom(previous: RolloutWorker): void {
    this.seq = previous.seq;
    this.policyVersion = previous.policyVersion;
  }

  setState(s: WorkerState): void {
    this.rng.setState(s.rng);
    this.seq = s.seq;
    if (s.envs !== null) this.obs = this.envs.setState(s.envs);
  }

  close(): void {
    this.envs.close();
    this.opts.policy.dispose();
  }
}

export interface WorkerState {
  rng: number[];
  seq: number;
  envs: unknown;
}
