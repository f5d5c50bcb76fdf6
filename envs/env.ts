import type { Observation } from '../core/algorithm';
import type { Box, Space } from '../core/spaces';
import type { Player, TurnGame } from './turn-game';

/** An action: an integer for `Discrete`, a Float32Array for `Box`. */
export type Action = number | Float32Array;

/** What `Env.reset` may be given. */
export interface ResetOptions {
  /** Reseeds the env's generator; without it the env continues its current stream. */
  seed?: number;
  /** Env-specific; classic-control envs take `{ state: number[] }` to start from an exact physical state. */
  options?: Record<string, unknown>;
}

/** What `Env.reset` returns. */
export interface ResetResult {
  /** The first observation of the episode, in `observationSpace`. */
  obs: Observation;
  /** Anything else the env reports; {} when nothing. */
  info: Record<string, unknown>;
}

/** What `Env.step` returns. */
export interface StepResult {
  /** The observation after the step, in `observationSpace`. */
  obs: Observation;
  /** The step's reward: a finite number. */
  reward: number;
  /** The episode reached a terminal state of the task (no bootstrapping past it). */
  terminated: boolean;
  /** The episode was cut short from outside (a time limit); the value of `obs` still counts. */
  truncated: boolean;
  /** Anything else the env reports; {} when nothing. */
  info: Record<string, unknown>;
}

/**
 * The Gymnasium contract, in TypeScript. Observations are in `observationSpace`: Float32Arrays,
 * or Uint8Arrays for a Box of `dtype: 'uint8'` (pictures).
 */
export interface Env {
  /** What `obs` holds: a Box of float32, or of uint8 for pictures. */
  readonly observationSpace: Box;
  /** What `step` takes: Discrete (an integer) or Box (a Float32Array). */
  readonly actionSpace: Space;
  /** Starts an episode. */
  reset(opts?: ResetOptions): ResetResult;
  /** Applies an action, in `actionSpace`; after `terminated` or `truncated` the next call must be `reset`. */
  step(action: Action): StepResult;
  /** Frees what the env holds; optional for an env of yours (the runtime adds a no-op). */
  close(): void;
  /**
   * Optional: the env's whole state (physics, generator, counters) as plain data, so that a
   * checkpoint resumes the exact trajectory. Envs without it are re-seeded on resume.
   */
  getState?(): unknown;
  /** Optional, with `getState`: restores a state it gave. */
  setState?(state: unknown): void;
  /**
   * Optional, for a Discrete action space: the legal actions in the current state (after
   * `reset` or `step`), as n bytes, 1 for legal. An env that has it has it in every state;
   * the policy never picks an action whose byte is 0. (A method, as sb3-contrib's
   * `action_masks()`, rather than a key of `info`: the runtime learns from the env's shape,
   * before any step, that a run records masks, and no info object is built per step.)
   */
  actionMask?(): Uint8Array;
  /**
   * Optional: the current state as a picture, as Gymnasium's `render_mode="rgb_array"` gives it
   * (same size, same look for the built-in envs). Only for watching: never an observation.
   */
  render?(): RgbFrame;
  /**
   * Optional, for a two-player turn game that the agent learns against a built-in opponent: a
   * new game in which both seats are played from outside, `first` moving first (see
   * `TurnGame`), so that a person can play the trained policy (`rl view`'s "Play against it").
   * The env's own episode and its opponent are left as they are. A wrapper hides it (it may
   * change what the agent sees): give it to the env itself.
   */
  turnGame?(first: Player): TurnGame;
}

/** An RGB image: 3 bytes per pixel, row-major from the top-left, Gymnasium's (H, W, 3) array. */
export interface RgbFrame {
  /** Pixels across. */
  width: number;
  /** Pixels down. */
  height: number;
  /** width * height * 3 bytes: red, green, blue per pixel. */
  data: Uint8Array;
}

/** What builds an env: `registerEnv` takes one, and so does a custom env module. */
export type EnvFactory = (config: Record<string, unknown>) => Env;
