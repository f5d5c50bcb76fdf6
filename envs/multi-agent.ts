import type { Observation } from '../core/algorithm';
import type { Rng } from '../core/rng';
import type { Box, Space } from '../core/spaces';
import type { Action, ResetOptions, RgbFrame } from './env';

/** An agent's name in a multi-agent env (`player_0`), unique within it; a policy mapping maps these. */
export type AgentId = string;

/** One value for each of some agents, by id. */
export type PerAgent<T> = Record<AgentId, T>;

/** What `MultiAgentEnv.reset` returns. */
export interface MultiAgentResetResult {
  /** The first observation of each agent of `agents()`, each in its own observation space. */
  obs: PerAgent<Observation>;
  /** Anything else the env reports, per agent; {} when nothing. */
  infos: PerAgent<Record<string, unknown>>;
}

/**
 * What `MultiAgentEnv.step` returns: a key for every agent that was live before the step (those
 * of `agents()` then), whether it acted or not, as PettingZoo's `ParallelEnv.step` gives them.
 */
export interface MultiAgentStepResult {
  /** Each agent's observation after the step, from its own side, in its own observation space. */
  obs: PerAgent<Observation>;
  /** Each agent's reward for this step: a finite number (0 for an agent the step did not touch). */
  rewards: PerAgent<number>;
  /** Whether each agent reached a terminal state of the task (no bootstrapping past it). */
  terminations: PerAgent<boolean>;
  /** Whether each agent's episode was cut short from outside (a time limit). */
  truncations: PerAgent<boolean>;
  /** Anything else the env reports, per agent; {} when nothing. */
  infos: PerAgent<Record<string, unknown>>;
}

/**
 * The multi-agent contract: PettingZoo's Parallel API in TypeScript, with the agents that must
 * act named by the env. Each step takes one action from each agent of `acting()` and returns
 * every live agent's observation, reward, termination and truncation. A simultaneous-move game
 * has every live agent in `acting()`; a turn-based game has one (whose turn it is), and the
 * others' rewards still arrive in the same step (the loser's -1 with the winner's move).
 * An agent that is terminated or truncated leaves `agents()` after that step; the episode is
 * over when `agents()` is empty, and the next call must be `reset`.
 */
export interface MultiAgentEnv {
  /** Every agent that can ever take part, in a fixed order (PettingZoo's `possible_agents`). */
  readonly possibleAgents: readonly AgentId[];
  /** Each possible agent's observation space: a Box, as a single-agent env's. */
  readonly observationSpaces: PerAgent<Box>;
  /** Each possible agent's action space: Discrete or Box. */
  readonly actionSpaces: PerAgent<Space>;
  /** The agents live now, in `possibleAgents` order; empty once the episode is over. */
  agents(): readonly AgentId[];
  /** The agents `step` needs an action from now: all of `agents()` in a simultaneous game, the one to move in a turn game. */
  acting(): readonly AgentId[];
  /** Starts an episode; `seed` reseeds the env's generator, so the same seed gives the same episode for the same actions. */
  reset(opts?: ResetOptions): MultiAgentResetResult;
  /** Applies one action per agent of `acting()` (no more, no fewer), each in that agent's action space. */
  step(actions: PerAgent<Action>): MultiAgentStepResult;
  /**
   * Optional, for Discrete action spaces: `agent`'s legal actions now, n bytes, 1 legal; one
   * legal at least for an agent of `acting()`, all 0 for an agent that is not to act (as
   * PettingZoo's `action_mask` of the agent not selected).
   */
  actionMask?(agent: AgentId): Uint8Array;
  /**
   * Optional: the names of the players the env has built in (ConnectFour-v0: `random`,
   * `minimax:1` .. `minimax:6`), which a config's `builtin` policies and `rl evaluate
   * --opponent` name; `baselineAction` plays them. Every env with Discrete actions also has
   * `random` (a legal action drawn uniformly) without naming it.
   */
  readonly baselines?: readonly string[];
  /** Optional, with `baselines`: the action the built-in player `name` picks for `agent`, one of `acting()`, drawing from `rng`. */
  baselineAction?(name: string, agent: AgentId, rng: Rng): Action;
  /** Optional: the current state as a picture (only for watching). */
  render?(): RgbFrame;
  /** Optional: the whole state as plain data, for checkpoints. */
  getState?(): unknown;
  /** Optional, with `getState`: restores a state it gave. */
  setState?(state: unknown): void;
  /** Frees what the env holds. */
  close(): void;
}

/** What builds a multi-agent env: `registerMultiAgentEnv` takes one. */
export type MultiAgentEnvFactory = (config: Record<string, unknown>) => MultiAgentEnv;

/** Whether `value` looks like a multi-agent env (it has `possibleAgents` and `acting`) rather than a single-agent one. */
export function isMultiAgentEnv(value: unknown): value is MultiAgentEnv {
  const v = value as Partial<MultiAgentEnv> | null;
  return typeof v === 'object' && v !== null && Array.isArray(v.possibleAgents) && typeof v.acting === 'function';
}
