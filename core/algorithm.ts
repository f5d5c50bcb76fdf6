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

/**
 * One metric, declared where it is produced (an algorithm's `metrics`, the sampler's, the
 * runtime's own), so that its TensorBoard chart and its reduction are decided once and a key
 * nobody declared is an error rather than a chart in the wrong place.
 */
export interface MetricSpec {
  /** The key in `update()`'s result and in progress.jsonl. */
  key: string;
  /** TensorBoard groups charts by the tag's first part: `<group>/<key>` (`train/policyLoss`). */
  group: string;
  /** How an iteration's values (one per update; async mode has many) become its one value. */
  reduce: 'mean' | 'sum' | 'last';
  /** The short label on the console's line per iteration; absent: not on the line. */
  label?: string;
  /** The TensorBoard tag when not `<group>/<key>` (evaluation's `eval/returnMean`). */
  tag?: string;
}

/**
 * How the runtime drives an algorithm, chosen once per run.
 *
 * `sync` (on-policy): each iteration gathers `trainBatchSize` steps sampled by weights at most
 * `maxPolicyLag` versions old, updates once, then broadcasts the weights.
 *
 * `async` (off-policy): workers sample without pause; every batch goes to `update` as it
 * arrives, whatever weights sampled it (its lag is reported, not limited), and the weights are
 * broadcast whenever `syncDue()` says so. An iteration is `stepsPerIteration` steps of that.
 */
export type Schedule =
  | { mode: 'sync'; trainBatchSize: number; maxPolicyLag: number }
  | { mode: 'async'; stepsPerIteration: number };

export interface UpdateContext {
  /** Env steps sampled so far, these batches' included (for schedules over the run). */
  envSteps: number;
}

export interface Algorithm {
  readonly schedule: Schedule;
  /** Every key `update()` may return, with its TensorBoard group, reduction and console label. */
  readonly metrics: readonly MetricSpec[];
  /** `async`: whether the workers should get the current weights now (asked after each update). No side effect. */
  syncDue?(): boolean;
  /** `async`: the runtime has just broadcast `getWeights()` because `syncDue()` said so. */
  weightsBroadcast?(): void;
  /** The spec the run's workers build their policy from (the module's `policySpec` for this run). */
  policySpec(): PolicySpec;
  /**
   * The policy's weights, and whatever else must reach the workers with them under the same
   * `policyVersion` (DQN: its exploration rate; see `EPSILON` in algorithms/dqn/q-network.ts).
   */
  getWeights(): Weights;
  /**
   * One training step on the gathered batches; returns this update's metrics only (keys of
   * `metrics`). The runtime reduces an iteration's updates, so an algorithm keeps no
   * per-iteration sums of its own.
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

/** What a policy's shape depends on: the algorithm's config, the model and the env's spaces. */
export interface PolicyOptions<C> {
  config: C;
  model: ModelConfig;
  observationSpace: SpaceSpec;
  actionSpace: SpaceSpec;
}

export interface CreateOptions<C> extends PolicyOptions<C> {
  /** The run's seed; an algorithm takes its generators from `seedStreams(seed)` (core/seed-streams.ts). */
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

/** What the numbers of a policy's greedy head are: the greedy action follows from them (argmax, or the mean clipped). */
export type GreedyHeadKind = 'logits' | 'mean' | 'q';

/**
 * The greedy path of a trained policy as its weights hold it, for `rl export`: the prefix of
 * its MLP body's layers (`${body}/${i}/w` and `/b`, after the `conv/${i}` encoder if the model
 * has one), and its head as one linear layer, W [inputs, outputs] row-major. `weight` names a
 * tensor of `getWeights()`; it throws for a missing one, naming it.
 */
export interface GreedyPath {
  body: string;
  head: { kind: GreedyHeadKind; inputs: number; outputs: number; w: Float32Array; b: Float32Array };
}

export interface AlgorithmModule<C = unknown> {
  name: string;
  /** A zod schema with a default and a description for every key. */
  configSchema: z.ZodType<C>;
  check(config: C, ctx: { totalEnvs: number; rolloutLength: number; totalEnvSteps?: number }): ConfigIssue[];
  create(opts: CreateOptions<C>): Algorithm;
  /** The spec of this algorithm's sampling policy: what a worker records per step, and what `rl evaluate` builds. */
  policySpec(opts: PolicyOptions<C>): PolicySpec;
  /**
   * A sampling policy for the worker in `slot` of `numSlots` (the runtime's slots: local mode is
   * slot 0 of 1; see the worker pool's Membership for how workers get theirs). Absent: evaluation.
   */
  createPolicy(spec: PolicySpec, ctx?: { slot: number; numSlots: number }): SamplingPolicy;
  /** The exact tensors a policy of this spec has (what its weights must be), computed without building it. */
  weightShapes(spec: PolicySpec): { name: string; shape: number[] }[];
  /** The greedy path of a policy of `spec` whose weights `weight` gives (what `rl export` writes). */
  greedyPath(spec: Pick<PolicySpec, 'model' | 'actionSpace'>, weight: (name: string) => NamedTensor, has: (name: string) => boolean): GreedyPath;
}
