/**
 * The contract between the runtime and an algorithm module. The runtime (learner loop,
 * workers, transport) only ever talks to these interfaces; it never asks which algorithm
 * it is running. `import { policySpecOf } from 'rl-zmq/core/algorithm'`.
 *
 * @module rl-zmq/core/algorithm
 */
import type { z } from 'zod';
import type { Rng } from './rng';
import type { SpaceSpec } from './spaces';
import type { ForwardEngine, RecurrentSpec } from './forward';

export type { ConvSpec, DenseSpec, Forward, ForwardEngine, ForwardNet, InputScale, LayerSpec, RecurrentSpec } from './forward';



/** One named weight tensor, as it leaves tfjs: plain Float32 data and a shape. */
export interface NamedTensor {
  /** The tensor's name within its policy (`pi/0/w`). */
  name: string;
  /** Its dimensions; `data` holds their product of values. */
  shape: number[];
  /** Its values, row-major. */
  data: Float32Array;
}

/** A policy's weights: its named tensors, as `getParams()` gives them and workers load them. */
export type Weights = NamedTensor[];

/** A tensor's name and shape without its values: what a policy of a spec has (`AlgorithmModule.weightShapes`). */
export interface TensorShape {
  /** The tensor's name within its policy. */
  name: string;
  /** Its dimensions. */
  shape: number[];
}

/** The policy id of every single-agent run: weights, batches and checkpoints are keyed by it. */
export const DEFAULT_POLICY = 'default';

/** What reaches the workers under one `policyVersion` for one policy: its weights and named scalars (DQN's `epsilon`). */
export interface PolicyParams {
  /** The policy's weights. */
  weights: Weights;
  /** Named numbers the workers' policies read (DQN's `epsilon`); {} when none. */
  scalars: Record<string, number>;
}

/** Every policy's params of a run, by policy id (`{ default: ... }` for a single-agent run). */
export type ParamsById = Record<string, PolicyParams>;

/** The element types a column (or an observation) may have. */
export type Dtype = 'float32' | 'int32' | 'uint8';
/** A column's values: one typed array of its `dtype`, time-major like the batch. */
export type Column = Float32Array | Int32Array | Uint8Array;
/** An observation as envs give it: float32, or uint8 for pictures (`Box` with `dtype: 'uint8'`). */
export type Observation = Float32Array | Uint8Array;

/** A per-step value a worker records: its name, element type and per-env shape (`[]`: one value per env and step). */
export interface ColumnSpec {
  /** The column's key in `TrajectoryBatch.columns` (`logp`, `value`). */
  name: string;
  /** Its element type. */
  dtype: Dtype;
  /** Values per env and step; `[]`: one. */
  shape: number[];
}

/** One part of a recurrent policy's state, per env: `size` floats, zero at an episode's start. */
export interface StateSpec {
  /** The state entry's key in `ActInput.state` and `ActResult.state`. */
  name: string;
  /** Floats per env. */
  size: number;
}

/** The column the runtime records when the env gives action masks: 1 for a legal action. */
export const ACTION_MASK = 'actionMask';

/**
 * What a rollout worker hands the learner: `length` steps of `numEnvs` envs, as columns,
 * time-major (row `t * numEnvs + n`).
 */
export interface TrajectoryBatch {
  /** The worker that sampled the batch (0 in local mode). */
  workerId: number;
  /** Increases by one with every batch a worker sends. */
  seq: number;
  /** The policy that acted. */
  policyId: string;
  /** Version of the weights that chose these actions. */
  policyVersion: number;
  /** Envs stepped together: the width of every column. */
  numEnvs: number;
  /** Steps per env: the height of every column. */
  length: number;
  /** [length * numEnvs * obsSize], in the observation space's dtype */
  obs: Observation;
  /** [length * numEnvs * actionSize]; a Discrete action is its index. As the policy gave it: unclipped, unsquashed. */
  actions: Float32Array;
  /** Each step's reward: [length * numEnvs]. */
  rewards: Float32Array;
  /** 1 where the episode ended in a terminal state (no bootstrapping). */
  terminated: Uint8Array;
  /** 1 where the episode was cut short (time limit) and did not terminate. */
  truncated: Uint8Array;
  /** Exactly the columns `batchColumns(spec)` declares: what the policy recorded (`logp`, `value`) and the action mask. */
  columns: Record<string, Column>;
  /** A recurrent policy's state at the batch's first step, per `spec.state` entry: [numEnvs * size]. Empty for a feed-forward policy. */
  state: Record<string, Float32Array>;
  /** The observation after the last step, to bootstrap from: [numEnvs * obsSize]. */
  nextObs: Observation;
  /** The last observation of each truncated episode: `index` holds its row `t * numEnvs + n`. */
  finalObs: {
    /** The rows (`t * numEnvs + n`) where an episode was truncated. */
    index: Int32Array;
    /** Their last observations: [index.length * obsSize]. */
    obs: Observation;
  };
  /** With action masks: the masks of `nextObs` [numEnvs * n] and of each `finalObs` [index.length * n]; else null. */
  nextMasks: {
    /** The masks of `nextObs`: [numEnvs * n]. */
    next: Uint8Array;
    /** The masks of each `finalObs` row: [index.length * n]. */
    final: Uint8Array;
  } | null;
  /** Returns and lengths of the episodes that finished in this batch. */
  episodes: {
    /** Each finished episode's sum of rewards. */
    returns: Float32Array;
    /** Each finished episode's number of steps. */
    lengths: Int32Array;
  };
}

/** Plain data from which a worker builds its own copy of a policy; it travels to workers and into checkpoints. */
export interface PolicySpec {
  /** The name of the algorithm module that builds the policy (`AlgorithmModule.name`). */
  algorithm: string;
  /** Which policy of the run (`default` for a single-agent run). */
  policyId: string;
  /** The env's observation space. */
  observationSpace: SpaceSpec;
  /** The env's action space. */
  actionSpace: SpaceSpec;
  /** The env gives action masks (`Env.actionMask`): `act()` gets them and the batch records the `actionMask` column. */
  actionMask: boolean;
  /** The network's layers (the config's `model:` section). */
  model: ModelConfig;
  /** The algorithm's own resolved config. */
  config: unknown;
  /** What `act()` returns per env and step and the worker records, besides obs, actions and rewards (`ActResult.columns`). */
  columns: ColumnSpec[];
  /** A recurrent policy's state (`ActResult.state`); [] for a feed-forward one. */
  state: StateSpec[];
  /** How a Box action reaches the env: clipped to its bounds, or squashed by tanh and scaled to them (SAC). */
  boxActions: 'clip' | 'squash';
}

/** The network's shape: the config's `model:` section. */
export interface ModelConfig {
  /** Units per hidden layer of the MLP. */
  hiddenSizes: number[];
  /** Activation after each hidden layer. */
  activation: 'tanh' | 'relu';
  /** One body for policy and value (true) or one each. */
  sharedLayers: boolean;
  /** Conv layers (relu after each) before the MLP, for Box(h, w, c) observations; absent or []: none. */
  conv?: {
    /** Output channels. */
    filters: number;
    /** Side of the square kernel, in pixels. */
    kernel: number;
    /** Pixels between kernel positions. */
    stride: number;
    /** `valid`: only whole windows; `same`: zero-padded, ceil(size / stride) outputs. */
    padding: 'valid' | 'same';
  }[];
  /** A recurrent cell after the conv layers (or the observation), before the MLP; absent: feed-forward. */
  recurrent?: RecurrentConfig;
}

/** A model's recurrent cell (`model.recurrent`). */
export interface RecurrentConfig {
  /** `lstm`: state h and c; `gru`: state h. */
  type: 'lstm' | 'gru';
  /** Units of the cell: floats per env of each state entry. */
  size: number;
}

/** What a policy acts on, for `numEnvs` envs at once. */
export interface ActInput {
  /** [numEnvs * obsSize] */
  obs: Observation;
  /** Envs acting together: rows of `obs`. */
  numEnvs: number;
  /** The state `act()` returned last time (zeros where an episode starts), per `spec.state` entry; {} for a feed-forward policy. */
  state: Record<string, Float32Array>;
  /** 1 where `obs` is the first of an episode: [numEnvs]. */
  episodeStarts: Uint8Array;
  /** 1 for a legal action, when the env gives masks: [numEnvs * n]; else null (all legal). */
  mask: Uint8Array | null;
  /** The generator sampling draws from (the worker's own stream). */
  rng: Rng;
  /** Greedy actions (argmax, a Gaussian's mean) instead of sampled ones (evaluation). */
  deterministic: boolean;
}

/** What a policy gives back for one step of `numEnvs` envs. */
export interface ActResult {
  /** [numEnvs * actionSize] */
  actions: Float32Array;
  /** Per-env values of `spec.columns` (not the mask: the runtime records it). */
  columns: Record<string, Column>;
  /** The next state, per `spec.state` entry; {} for a feed-forward policy. */
  state: Record<string, Float32Array>;
}

/** A worker's read-only copy of a policy: one batched forward pass per step. */
export interface SamplingPolicy {
  /** Picks actions for one step of every env, in one batched forward pass. */
  act(input: ActInput): ActResult;
  /** The inference engine its forward pass runs on (`ForwardEngine.name`: 'tfjs', 'onnx'); absent: tfjs. */
  readonly engine?: string;
  /** Why the engine offered (`createPolicy`'s `ctx.engine`) was not used; absent or null when it was or none was offered. */
  readonly fallback?: string | null;
  /** Swaps in the weights and scalars of a newer `policyVersion`. */
  setParams(params: PolicyParams): void;
  /** Frees the policy's tensors. */
  dispose(): void;
}

/** The columns a batch of `spec`'s policy carries: the policy's own, then the action mask if the env gives masks. */
export function batchColumns(spec: Pick<PolicySpec, 'columns' | 'actionMask' | 'actionSpace'>): ColumnSpec[] {
  if (!spec.actionMask) return spec.columns;
  if (spec.actionSpace.type !== 'Discrete') throw new TypeError('action masks need a Discrete action space');
  return [...spec.columns, { name: ACTION_MASK, dtype: 'uint8', shape: [spec.actionSpace.n] }];
}

/** Values per env of a column or state entry of this per-step shape. */
export function perEnv(shape: number[]): number {
  return shape.reduce((a, d) => a * d, 1);
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
 *
 * `queue` (IMPALA, APPO: nobody waits): workers sample without pause with the weights they
 * hold; their batches wait in a bounded queue, from which each update takes the oldest
 * `trainBatchSize` steps (dropping, and counting, batches more than `maxPolicyLag` versions
 * old); the weights are broadcast after every `broadcastEvery` updates. An iteration is
 * `stepsPerIteration` steps of that.
 */
export type Schedule =
  | {
      /** On-policy: gather, update once, broadcast. */
      mode: 'sync';
      /** Steps gathered for each update. */
      trainBatchSize: number;
      /** Batches sampled by weights more versions old than this are dropped. */
      maxPolicyLag: number;
    }
  | {
      /** Off-policy: every batch is used as it arrives. */
      mode: 'async';
      /** Env steps that make one iteration (one progress line, evaluation and checkpoint tick). */
      stepsPerIteration: number;
    }
  | {
      /** Nobody waits: workers sample without pause, the learner takes batches from a bounded queue. */
      mode: 'queue';
      /** Steps each update takes from the queue (whole batches, oldest first, at least this many). */
      trainBatchSize: number;
      /** Batches the queue holds before no worker is asked for more (they pause until the learner takes some). */
      queueSize: number;
      /** Batches sampled by weights more versions older than the last broadcast are dropped and counted (`droppedBatches`). */
      maxPolicyLag: number;
      /** Updates between weight broadcasts (1: after every update). */
      broadcastEvery: number;
      /** Env steps that make one iteration (one progress line, evaluation and checkpoint tick). */
      stepsPerIteration: number;
    };

/** What the runtime tells `Algorithm.update` beside the batches. */
export interface UpdateContext {
  /** Env steps sampled so far, these batches' included (for schedules over the run). */
  envSteps: number;
  /** The version the workers hold now (each batch carries the version that sampled it: the lag is the difference). */
  policyVersion: number;
}

/** A running algorithm, as `AlgorithmModule.create` builds it: the learner's side of one run. */
export interface Algorithm {
  /** How the runtime drives it: on-policy (`sync`), off-policy (`async`) or from a learner queue (`queue`). */
  readonly schedule: Schedule;
  /** Every key `update()` may return, with its TensorBoard group, reduction and console label. */
  readonly metrics: readonly MetricSpec[];
  /** `async`: whether the workers should get the current weights now (asked after each update). No side effect. */
  syncDue?(): boolean;
  /** `async`: the runtime has just broadcast `getParams()` because `syncDue()` said so. */
  weightsBroadcast?(): void;
  /** The specs the run's workers build their policies from, by policy id (`{ default: spec }` for a single-agent run). */
  policySpecs(): Record<string, PolicySpec>;
  /** What must reach the workers under one `policyVersion`, by policy id: weights and named scalars (DQN's epsilon). */
  getParams(): ParamsById;
  /**
   * One training step on the gathered batches; returns this update's metrics only (keys of
   * `metrics`). The runtime reduces an iteration's updates, so an algorithm keeps no
   * per-iteration sums of its own.
   */
  update(batches: TrajectoryBatch[], ctx: UpdateContext): Promise<Record<string, number>>;
  /** Everything needed to resume exactly: weights, optimizer state, generators, counters. */
  getState(): Promise<AlgorithmState>;
  /** Restores what `getState()` gave, from a checkpoint. */
  setState(state: AlgorithmState): Promise<void>;
  /** Frees its models, optimizer state and tensors. */
  dispose(): void;
}

/**
 * An algorithm's saved state. `tensors` are named (`weights/<policyId>/...` holds a policy's
 * weights, which is all `rl evaluate` reads); `json` is plain data.
 */
export interface AlgorithmState {
  /** Weights and optimizer moments, by name. */
  tensors: NamedTensor[];
  /** Counters, generator states and the like, as plain data. */
  json: Record<string, unknown>;
}

const weightsPrefix = (policyId: string) => `weights/${policyId}/`;

/** A policy's weights as tensors of a saved state (under `weights/<policyId>/`). */
export function weightsToState(weights: Weights, policyId = DEFAULT_POLICY): NamedTensor[] {
  return weights.map((w) => ({ ...w, name: `${weightsPrefix(policyId)}${w.name}` }));
}

/** A policy's weights in a saved state, under the names its `getParams()` gives them. */
export function weightsFromState(state: Pick<AlgorithmState, 'tensors'>, policyId = DEFAULT_POLICY): Weights {
  const prefix = weightsPrefix(policyId);
  return state.tensors.filter((t) => t.name.startsWith(prefix)).map((t) => ({ ...t, name: t.name.slice(prefix.length) }));
}

/** What a policy's shape depends on: the algorithm's config, the model and the env's spaces. */
export interface PolicyOptions<C> {
  /** The algorithm's resolved config section. */
  config: C;
  /** The network's layers (the config's `model:` section). */
  model: ModelConfig;
  /** The env's observation space. */
  observationSpace: SpaceSpec;
  /** The env's action space. */
  actionSpace: SpaceSpec;
  /** The env gives action masks; default false. */
  actionMask?: boolean;
  /** Default `DEFAULT_POLICY`. */
  policyId?: string;
}

/** A spec from the runtime's part (`opts`) and the algorithm's own (what it records, its state, its Box actions). */
export function policySpecOf<C>(opts: PolicyOptions<C>, own: Pick<PolicySpec, 'algorithm' | 'columns'> & Partial<Pick<PolicySpec, 'state' | 'boxActions'>>): PolicySpec {
  return {
    algorithm: own.algorithm,
    policyId: opts.policyId ?? DEFAULT_POLICY,
    observationSpace: opts.observationSpace,
    actionSpace: opts.actionSpace,
    actionMask: opts.actionMask ?? false,
    model: opts.model,
    config: opts.config,
    columns: own.columns,
    state: own.state ?? [],
    boxActions: own.boxActions ?? 'clip',
  };
}

/** What `AlgorithmModule.create` is given: the policy's options and the run's seed and sizes. */
export interface CreateOptions<C> extends PolicyOptions<C> {
  /** The run's seed; an algorithm takes its generators from `seedStreams(seed)` (core/seed-streams.ts). */
  seed: number;
  /** Envs sampling in parallel across all workers, and steps per env per batch. */
  totalEnvs: number;
  /** Worker processes spawned by the run (0 or absent: local mode). */
  numWorkers?: number;
  /** Steps per env in each trajectory batch. */
  rolloutLength: number;
  /** The run's `stop.envSteps`, if any (for schedules that anneal over the run). */
  totalEnvSteps?: number;
}

/** A rule that spans keys, checked after the schema: `path` is relative to the algorithm's section. */
export interface ConfigIssue {
  /** The key path within the algorithm's section (`minibatchSize`). */
  path: string;
  /** The rule broken, as the end of a one-line error (`(512) must be <= trainBatchSize (256)`). */
  message: string;
}

/** What the numbers of a policy's greedy head are: the greedy action follows from them (argmax, or the mean clipped). */
export type GreedyHeadKind = 'logits' | 'mean' | 'q';

/**
 * The greedy path of a trained policy as its weights hold it, for `rl export`: the prefix of
 * its MLP body's layers (`${body}/${i}/w` and `/b`, after the `conv/${i}` encoder if the model
 * has one), and its head as one linear layer, W [inputs, outputs] row-major. `weight` names a
 * tensor of the policy's weights (`getParams()`); it throws for a missing one, naming it.
 */
export interface GreedyPath {
  /** The weights' name prefix of the MLP body's layers (`pi`). */
  body: string;
  /** A recurrent policy's cell, between the conv encoder (or the observation) and the body; absent: none. */
  recurrent?: RecurrentSpec;
  /** The head: one linear layer from the body's features to its outputs. */
  head: {
    /** What the head's outputs are: logits, a Gaussian's mean, or Q-values. */
    kind: GreedyHeadKind;
    /** Features the head takes from the body. */
    inputs: number;
    /** Numbers the head gives per observation. */
    outputs: number;
    /** Weights, [inputs, outputs] row-major. */
    w: Float32Array;
    /** Biases, [outputs]. */
    b: Float32Array;
  };
}

/** Where a sampling policy runs: its worker's slot, and the inference engine the runtime offers. */
export interface PolicyContext {
  /** This worker's index among the run's sampling slots (0-based). */
  slot: number;
  /** How many sampling slots the run has. */
  numSlots: number;
  /**
   * An engine for the policy's forward pass other than tfjs (onnxruntime, `workers.inference`):
   * a policy that can describe its forward pass as a `ForwardNet` runs it there when the engine
   * runs that net, and says which it chose (`SamplingPolicy.engine`). Absent: tfjs.
   */
  engine?: ForwardEngine;
}

/** An algorithm, as the registry holds it (`algorithms`, `registerAlgorithm`): its config schema, its checks, and how to build its learner side and its policies. */
export interface AlgorithmModule<C = unknown> {
  /** The name configs give in `algorithm:`, and the key of its config section. */
  name: string;
  /** A zod schema with a default and a description for every key. */
  configSchema: z.ZodType<C>;
  /** The rules across its keys that the schema cannot say (a minibatch no larger than the batch); [] when the config is sound. */
  check(config: C, ctx: { totalEnvs: number; rolloutLength: number; totalEnvSteps?: number }): ConfigIssue[];
  /**
   * Optional: the config with every value that follows from how many envs sample made explicit
   * (PPO: a null `trainBatchSize` becomes totalEnvs x rolloutLength), so that the run trains
   * the same algorithm when its workers are scaled (`rl deploy kubernetes` pins it).
   */
  pinConfig?(config: C, ctx: { totalEnvs: number; rolloutLength: number }): C;
  /** Builds the learner's side for one run: networks, optimizer and generators, seeded by `opts.seed`. */
  create(opts: CreateOptions<C>): Algorithm;
  /**
   * Its policies honour `ActInput.mask` (illegal actions never sampled, and the loss knows the
   * masks). Absent or false: an env that gives action masks is refused at the start of a run,
   * in one line, rather than failing on the first illegal action.
   */
  actionMasks?: boolean;
  /** Its policies can hold a recurrent cell (`model.recurrent`). Absent or false: a config with one is refused at the start of a run. */
  recurrent?: boolean;
  /** The spec of this algorithm's sampling policy (`policySpecOf`): what a worker records per step, and what `rl evaluate` builds. */
  policySpec(opts: PolicyOptions<C>): PolicySpec;
  /**
   * The exact tensors (names and shapes) of a policy of `spec`, without building it: what a
   * worker checks weights from a learner against before they touch its model, and how big a model is.
   */
  weightShapes(spec: PolicySpec): TensorShape[];
  /**
   * A sampling policy for the worker in `slot` of `numSlots` (the runtime's slots: local mode is
   * slot 0 of 1; see the worker pool's Membership for how workers get theirs). Absent: evaluation.
   */
  createPolicy(spec: PolicySpec, ctx?: PolicyContext): SamplingPolicy;
  /** The greedy path of a policy of `spec` whose weights `weight` gives (what `rl export` writes). */
  greedyPath(spec: PolicySpec, weight: (name: string) => NamedTensor, has: (name: string) => boolean): GreedyPath;
}
