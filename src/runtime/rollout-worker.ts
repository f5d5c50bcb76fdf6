import { ACTION_MASK, batchColumns, perEnv, type Column, type ColumnSpec, type Observation, type PolicyParams, type PolicySpec, type SamplingPolicy, type TrajectoryBatch } from '../../core/algorithm';
import { concatBytes } from '../../core/concat';
import { createEnv } from '../env-loader';
import { Rng } from '../../core/rng';
import { seedStreams } from '../../core/seed-streams';
import { VectorEnv } from '../../envs/vector-env';
import { Stepper, type StepperState } from '../../envs/stepper';

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
  /** The policy's spec: the columns a batch carries, its state, its Box actions. */
  spec: PolicySpec;
}

/**
 * Steps a vector of envs with one batched forward pass per step (the `Stepper`) and cuts the
 * trajectories into batches of `rolloutLength` steps per env, with the columns the policy's
 * spec declares. The same class samples in the learner's process (local mode) and in every
 * worker process.
 */
export class RolloutWorker {
  readonly envs: VectorEnv;
  readonly envSeeds: number[];
  policyVersion = 0;
  private seq = 0;
  private readonly rng: Rng;
  private readonly stepper: Stepper;
  private readonly actionSize: number;
  private readonly columns: ColumnSpec[];

  constructor(readonly opts: RolloutWorkerOptions) {
    const { workerId, envId, envConfig, numEnvs, seed, spec } = opts;
    this.envs = new VectorEnv(envId, Array.from({ length: numEnvs }, () => createEnv(envId, envConfig)));
    const incarnation = opts.incarnation ?? 0;
    const seeds = seedStreams(seed);
    this.envSeeds = Array.from({ length: numEnvs }, (_, i) => seeds.workerEnv(workerId, i, incarnation));
    this.rng = new Rng(seeds.workerActions(workerId));
    const space = this.envs.actionSpace;
    this.actionSize = space.type === 'Discrete' ? 1 : space.size;
    this.columns = batchColumns(spec);
    this.stepper = new Stepper(this.envs, opts.policy, spec, this.rng);
    this.stepper.reset(this.envSeeds);
  }

  setParams(params: PolicyParams, policyVersion: number): void {
    this.opts.policy.setParams(params);
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
    const { numEnvs: n, rolloutLength: T, spec } = this.opts;
    const obsSize = this.envs.obsSize;
    const rows = n * T;
    const obs = this.envs.observationSpace.allocate(rows * obsSize);
    const actions = new Float32Array(rows * this.actionSize);
    const rewards = new Float32Array(rows);
    const terminated = new Uint8Array(rows);
    const truncated = new Uint8Array(rows);
    const columns = Object.fromEntries(this.columns.map((c) => [c.name, allocate(c, rows)]));
    const maskColumn = spec.actionMask ? columns[ACTION_MASK] : null;
    const finalIndex: number[] = [];
    const finalObs: Observation[] = [];
    const finalMasks: Uint8Array[] = [];
    const returns: number[] = [];
    const lengths: number[] = [];
    let state: Record<string, Float32Array> = {};

    for (let t = 0; t < T; t++) {
      const row = t * n;
      const s = this.stepper.step();
      if (t === 0) state = Object.fromEntries(Object.entries(s.state).map(([k, v]) => [k, v.slice()]));
      obs.set(s.obs, row * obsSize);
      actions.set(s.act.actions, row * this.actionSize);
      for (const c of spec.columns) {
        const width = perEnv(c.shape);
        const v = s.act.columns[c.name];
        if (!v || v.length !== n * width) throw new TypeError(`the policy's act() gave column ${c.name} ${v ? `${v.length} values` : 'not at all'}, its spec declares ${n} x ${width}`);
        columns[c.name].set(v, row * width);
      }
      if (maskColumn) maskColumn.set(s.mask!, row * s.mask!.length / n);
      const step = s.step;
      rewards.set(step.rewards, row);
      terminated.set(step.terminated, row);
      truncated.set(step.truncated, row);
      for (let i = 0; i < n; i++) {
        if (step.truncated[i]) {
          finalIndex.push(row + i);
          finalObs.push(step.finalObs[i]!);
          if (maskColumn) finalMasks.push(step.finalMasks[i]!);
        }
      }
      for (const ep of step.finished) {
        returns.push(ep.return);
        lengths.push(ep.length);
      }
      yield (t + 1) * n;
    }
    const flatFinal = this.envs.observationSpace.allocate(finalObs.length * obsSize);
    finalObs.forEach((o, k) => flatFinal.set(o, k * obsSize));
    return {
      workerId: this.opts.workerId,
      seq: this.seq++,
      policyId: spec.policyId,
      policyVersion: this.policyVersion,
      numEnvs: n,
      length: T,
      obs,
      actions,
      rewards,
      terminated,
      truncated,
      columns,
      state,
      nextObs: this.stepper.current.slice(),
      finalObs: { index: Int32Array.from(finalIndex), obs: flatFinal },
      nextMasks: maskColumn ? { next: this.stepper.currentMasks!.slice(), final: concatBytes(finalMasks) } : null,
      episodes: { returns: Float32Array.from(returns), lengths: Int32Array.from(lengths) },
    };
  }

  /** The generator, the counters and (where the envs can say it) every env's state with the policy state carried between steps. */
  getState(): WorkerState {
    return { rng: this.rng.getState(), seq: this.seq, envs: this.envs.getState() ?? null, stepper: this.stepper.getState() };
  }

  /** Takes over a replaced worker's counters (after its envs were recreated). */
  continueFrom(previous: RolloutWorker): void {
    this.seq = previous.seq;
    this.policyVersion = previous.policyVersion;
  }

  setState(s: WorkerState): void {
    this.rng.setState(s.rng);
    this.seq = s.seq;
    if (s.envs === null) return;
    const obs = this.envs.setState(s.envs);
    // Checkpoints written before the stepper kept its state: every episode counts as starting.
    if (s.stepper) this.stepper.setState(obs, s.stepper);
    else this.stepper.continueFrom(obs);
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
  /** A recurrent policy's state and the episode starts (absent in checkpoints of format 1). */
  stepper?: StepperState;
}

/** A column's values for `rows` steps. */
function allocate(c: ColumnSpec, rows: number): Column {
  const n = rows * perEnv(c.shape);
  return c.dtype === 'float32' ? new Float32Array(n) : c.dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
}
