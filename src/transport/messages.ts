import type { ParamsById, PolicySpec, TrajectoryBatch } from '../../core/algorithm';
import { MAX_BATCH_ENVS, MAX_BATCH_LENGTH } from './limits';

/**
 * The messages between the learner and its rollout workers: their types and the protocol's
 * constants. The codec is codec.ts, the field checks validate.ts, decoding protocol.ts.
 */

/**
 * 2: `encode` writes it; a heartbeat carries `sampling`; the decoded size of every message is bounded.
 * 3: a setup names the learner's instance, version and shipped env code; a batch names the instance it was made for; code requests and refusals.
 * 4: policies by id: a setup's specs declare a batch's columns and state, params travel as `{ weights, scalars }` per policy;
 *    a welcome carries no weights (an unauthenticated hello must not buy a model's worth of bytes): a welcomed worker asks with `weightsRequest`.
 * 5: multi-agent runs: a setup's `multiAgent`, a weights message's league `draw`, and the worker's `games` (its trained policy's batches and its games' results).
 */
export const PROTOCOL_VERSION = 5;
/** Batches in one `games` message, at most (one per env and seat of the trained policy). */
export const MAX_GAMES_BATCHES = 4096;
/** Game results in one `games` message, at most. */
export const MAX_GAME_RESULTS = 65536;
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** How long a welcomed worker waits for weights before it asks again; a learner answers the same version to a member at most this often. */
export const WEIGHTS_ASK_MS = 2000;
/** Parameters of a run's models, at most: their weights must travel in one message. */
export const MAX_MODEL_PARAMS = DEFAULT_MAX_MESSAGE_BYTES / 4;

/** Everything a worker needs to start sampling, sent by the learner on connect. */
export interface WorkerSetup {
  /** The run's policies by id (`default` alone for a single-agent run). */
  policies: Record<string, PolicySpec>;
  envId: string;
  envConfig: Record<string, unknown>;
  numEnvs: number;
  rolloutLength: number;
  seed: number;
  heartbeatSeconds: number;
  /** The worker's slot of `numSlots`: what its policy may differ by (DQN's Ape-X exploration rate follows it). */
  slot: number;
  numSlots: number;
  pubEndpoint: string;
  /** The learner's working directory: a worker finds a module env at the same path relative to its own. */
  learnerDir: string;
  /** This learner process, at random: a batch made for another one (before a restart) is told apart and dropped. */
  instance: string;
  /** The learner's package version: a worker of another one says so. */
  packageVersion: string;
  /** The env module bundled into one file, for a worker that lacks it: asked for by `codeRequest`; null for a registered env. */
  code: ShippedCode | null;
  /** A multi-agent run (absent: a single-agent env, played by the policy `default`). */
  multiAgent?: MultiAgentSetup;
}

/**
 * What a worker of a multi-agent run needs besides the policies' specs: which policy's
 * transitions it sends, which policies the env's built-in players play, and who sits where
 * (a fixed mapping; with a league, the `draw` of each weights message).
 */
export interface MultiAgentSetup {
  /** The trained policies (one with a league): their transitions are the batches, each policy's its own. */
  trained: string[];
  /** The env's agents, in order (a game result names exactly these). */
  agents: string[];
  /** Built-in players by policy id (`random`, `minimax:2`). */
  builtins: Record<string, string>;
  /** Agent id -> policy id for every game; null: the league's draw decides. */
  mapping: Record<string, string> | null;
}

/**
 * How a game's seats are drawn: the learner's league rule at one moment, sent with the weights;
 * each worker draws every game with its own generator (`drawMatchup`).
 */
export interface MatchupDraw {
  /** Share of games the trained policy plays against itself (every seat). */
  selfPlay: number;
  /** Share of games against one of `builtins`, drawn uniformly. */
  builtinShare: number;
  builtins: string[];
  /** The trained policy's seat: by turns per env, or drawn. */
  seat: 'alternate' | 'random';
  /** The snapshots an opponent is drawn from; none: every game is self-play. */
  opponents: string[];
  /** Their weights (prioritized), or null: uniform. */
  weights: number[] | null;
}

/** One finished game of a worker: who sat where (agent -> policy id) and each agent's return. */
export interface GameResult {
  seats: Record<string, string>;
  returns: Record<string, number>;
}

/** A shipped env bundle, named by the sha256 (hex) of its bytes. */
export interface ShippedCode {
  sha256: string;
  bytes: number;
}

/**
 * Where a worker is in the batch it samples, sent with each heartbeat while it samples: a
 * slow env is alive and says how slow (the learner reports it, and does not drop it as hung).
 */
export interface SamplingProgress {
  /** Env steps of the batch done so far, of `total` (numEnvs * rolloutLength). */
  steps: number;
  total: number;
  /** Env steps per second over the batch so far. */
  stepsPerSecond: number;
}

/**
 * Worker -> learner (DEALER -> ROUTER). `hello` asks for a workerId; `slot` asks for a given one back.
 * `weightsRequest`: a welcomed worker's ask for the current weights (answered with `weights` on the ROUTER).
 * Messages are written without the protocol version `v`: `encode` adds it, the decoders check it.
 */
export type WorkerMessage =
  | { type: 'hello'; host: string; pid: number; numEnvs: number | null; slot: number | null }
  | { type: 'batch'; workerId: number; instance: string; batch: TrajectoryBatch }
  | { type: 'games'; workerId: number; instance: string; batches: TrajectoryBatch[]; results: GameResult[] }
  | { type: 'heartbeat'; workerId: number; policyVersion: number; sampling: SamplingProgress | null }
  | { type: 'envError'; workerId: number; envId: string; step: number; message: string }
  | { type: 'weightsRequest'; workerId: number }
  | { type: 'codeRequest'; workerId: number; sha256: string }
  | { type: 'refused'; workerId: number; reason: string }
  | { type: 'bye'; workerId: number };

/** Learner -> worker (ROUTER -> DEALER, and `weights` also on PUB). */
export type LearnerMessage =
  | { type: 'welcome'; workerId: number; setup: WorkerSetup }
  | { type: 'sample'; policyVersion: number }
  | { type: 'weights'; policyVersion: number; params: ParamsById; draw?: MatchupDraw }
  | { type: 'code'; sha256: string; source: Uint8Array }
  | { type: 'heartbeat' }
  | { type: 'unknownWorker' };

/** A sha256 as the protocol writes it: 64 lowercase hex digits (it also names a cache file, so nothing else passes). */
export const SHA256 = /^[0-9a-f]{64}$/;

/**
 * What the learner's run expects of a batch: its shapes follow from the policy's spec (the
 * env's spaces, the columns and state the algorithm declares), its bounds from the config.
 */
export interface BatchExpectation {
  /** The run's policies by id. */
  policies: Record<string, PolicySpec>;
  maxNumEnvs: number;
  maxLength: number;
  maxBytes: number;
  /** A multi-agent run's agents: each game result of a `games` message seats exactly these; absent: a single-agent run, which takes no `games`. */
  agents?: readonly string[];
}

/** What a run of these policies expects of every batch: the one place a batch's shapes and bounds are derived. */
export function batchExpectation(policies: Record<string, PolicySpec>, maxBytes = DEFAULT_MAX_MESSAGE_BYTES, agents?: readonly string[]): BatchExpectation {
  return { policies, maxNumEnvs: MAX_BATCH_ENVS, maxLength: MAX_BATCH_LENGTH, maxBytes, ...(agents ? { agents } : {}) };
}
