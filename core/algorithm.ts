import type { z } from 'zod';
import type { Rng } from './rng';
import type { SpaceSpec } from './spaces';

/**
 * The contract between the runtime and an algorithm module. The runtime (learner loop,
 * workers, transport) only ever talks to these interfaces; it never asks which algorithm
 * it is running.
 */

/** One named weight tensor, as it leaves tfjs: plain Float32 data and a shape. */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export type Weights = NamedTensor[];

/**
 * What a rollout worker hands the learner: `length` steps of `numEnvs` envs, as columns,
 * time-major (row `t * numEnvs + n`).
 */
export interface TrajectoryBatch {
  workerId: number;
  /** Increases by one with every batch a worker sends. */
  seq: number;
  /** Version of the weights that chose these actions. */
  policyVersion: number;
  numEnvs: number;
  length: number;
  /** [length * numEnvs * obsSize] */
  obs: Float32Array;
  /** [length * numEnvs * actionSize]; a Discrete action is its index. Unclipped, as sampled. */
  actions: Float32Array;
  rewards: Float32Array;
  /** 1 where the episode ended in a terminal state (no bootstrapping). */
  terminated: Uint8Array;
  /** 1 where the episode was cut short (time limit) and did not terminate. */
  truncated: Uint8Array;
  /** What the policy recorded at each step, named by the algorithm (e.g. `logp`, `value`). */
  extras: Record<string, Float32Array>;
  /** [numEnvs * obsSize]: the observation after the last step, to bootstrap from. */
  nextObs: Float32Array;
  /** The last observation of each truncated episode: `index` holds its row `t * numEnvs + n`. */
  finalObs: { index: Int32Array; obs: Float32Array };
  /** Returns and lengths of the episodes that finished in this batch. */
  episodes: { returns: Float32Array; lengths: Int32Array };
}

/** Plain data from which a worker builds its own copy of the policy. */
export interface PolicySpec {
  algorithm: string;
  observationSpace: SpaceSpec;
  actionSpace: SpaceSpec;
  model: ModelConfig;
  /** The algorithm's own resolved config. */
  config: unknown;
  /** What a worker records per step besides obs, actions and rewards: one float each (`ActResult.extras`). */
  extras: string[];
}

export interface ModelConfig {
  hiddenSizes: number[];
  activation: 'tanh' | 'relu';
  sharedLayers: boolean;
  /** Conv layers (relu after each) before the MLP, for Box(h, w, c) observations; absent or []: none. */
  conv?: { filters: number; kernel: number; stride: number; padding: 'valid' | 'same' }[];
}

export interface ActResult {
  /** [numEnvs * actionSize] */
  actions: Float32Array;
  /** Per-env values the algorithm wants recorded with each step. */
  extras: Record<string, Float32Array>;
}

/** A worker's read-only copy of the policy: one batched forward pass per step. */
export interface SamplingPolicy {
  act(obs: Float32Array, numEnvs: number, rng: Rng, opts?: { deterministic?: boolean }): ActResult;
  setWeights(weights: Weights): void;
  dispose(): void;
}

export interface UpdateContext {
  iteration: number;
  /** Env steps sampled so far, this iteration's included. */
  envSteps: number;
}

export interface Algorithm {
  /**
   * `sync` (on-policy): each iteration the learner gathers `trainBatchSize` steps sampled by
   * weights at most `maxPolicyLag` versions old, updates once, then broadcasts the weights.
   *
   * `async` (off-policy): workers sample without pause; every batch goes to `update` as it
   * arrives, whatever weights sampled it (its lag is reported, not limited), and the weights
   * are broadcast whenever `syncDue()` says so. An iteration is `trainBatchSize` steps of that.
   */
  readonly mode: 'sync' | 'async';
  readonly trainBatchSize: number;
  readonly maxPolicyLag: number;
  /** `async` only: true when the workers should get the current weights (asked after each update). */
  syncDue?(): boolean;
  /** The metrics worth a place on the console's line per iteration, with short labels. */
  readonly consoleMetrics: [key: string, label: string][];
  policySpec(): PolicySpec;
  getWeights(): Weights;
  /**
   * One training step on the gathered batches; returns the metrics to log. An `async`
   * algorithm's metrics cover the iteration so far (`ctx.iteration`): the runtime logs the last.
   */
  update(batches: TrajectoryBatch[], ctx: UpdateContext): Promise<Record<string, number>>;
  /** Everything needed to resume exactly: weights, optimizer state, generators, counters. */
  getState(): Promise<AlgorithmState>;
  setState(state: AlgorithmState): Promise<void>;
  dispose(): void;
}

/**
 * An algorithm's saved state. `tensors` are named (`weights/...` holds the policy's weights,
 * which is all `rl evaluate` reads); `json` is plain data.
 */
export interface AlgorithmState {
  tensors: NamedTensor[];
  json: Record<string, unknown>;
}

const WEIGHTS = 'weights/';

/** The policy's weights as tensors of a saved state (under `weights/`). */
export function weightsToState(weights: Weights): NamedTensor[] {
  return weights.map((w) => ({ ...w, name: `${WEIGHTS}${w.name}` }));
}

/** The policy's weights in a saved state, under the names `getWeights()` gives them. */
export function weightsFromState(state: AlgorithmState): Weights {
  return state.tensors.filter((t) => t.name.startsWith(WEIGHTS)).map((t) => ({ ...t, name: t.name.slice(WEIGHTS.length) }));
}

export interface CreateOptions<C> {
  config: C;
  model: ModelConfig;
  observationSpace: SpaceSpec;
  actionSpace: SpaceSpec;
  seed: number;
  /** Envs sampling in parallel across all workers, and steps per env per batch. */
  totalEnvs: number;
  /** Worker processes spawned by the run (0 or absent: local mode). */
  numWorkers?: number;
  rolloutLength: number;
  /** The run's `stop.envSteps`, if any (for schedules that anneal over the run). */
  totalEnvSteps?: number;
}

/** A rule that spans keys, checked after the schema: `path` is relative to the algorithm's section. */
export interface ConfigIssue {
  path: string;
  message: string;
}

export interface AlgorithmModule<C = unknown> {
  name: string;
  /** A zod schema with a default and a description for every key. */
  configSchema: z.ZodType<C>;
  check(config: C, ctx: { totalEnvs: number; rolloutLength: number; totalEnvSteps?: number }): ConfigIssue[];
  create(opts: CreateOptions<C>): Algorithm;
  /**
   * A sampling policy for the worker in `slot` of `numSlots` (the runtime's slots: local mode is
   * slot 0 of 1; see the worker pool's Membership for how workers get theirs). Absent: evaluation.
   */
  createPolicy(spec: PolicySpec, ctx?: { slot: number; numSlots: number }): SamplingPolicy;
}
