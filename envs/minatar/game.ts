import type { Rng } from '../../core/rng';

/** The board is 10 x 10 in every game. */
export const SIZE = 10;

/** MinAtar's six actions, in the order of its `action_map`: no-op, left, up, right, down, fire. */
export const ACTIONS = ['n', 'l', 'u', 'r', 'd', 'f'] as const;
export type GameAction = (typeof ACTIONS)[number];

/**
 * One MinAtar game as a small state machine (the reference's `minatar/environments/*.py`): the
 * env around it (`MinAtarEnv`) owns the generator, sticky actions and the observation buffer.
 * A game's whole state is plain data (numbers, booleans, arrays of them), so that `getState`
 * is a copy of it and a checkpoint resumes the exact trajectory.
 */
export interface MinAtarGame<S = unknown> {
  /** The observation's channels, in the order of the reference's `channels` dict. */
  readonly channels: readonly string[];
  /** The actions that do something in this game (the reference's `minimal_action_set`), for `MinAtar/<Game>-v1`. */
  readonly minimalActions: readonly GameAction[];
  /** The start of an episode, drawing from `rng` where the reference draws. */
  start(rng: Rng): S;
  /** One frame: updates `s` in place and returns the reward. Never called once `s.terminal`. */
  act(s: S, action: GameAction, rng: Rng): number;
  /** Whether the episode has ended (the player lost, or Freeway's clock ran out). */
  terminal(s: S): boolean;
  /** Sets the state's cells in `obs` (zeroed, 10 x 10 x channels, row-major), as the reference's `state()`. */
  draw(s: S, obs: Uint8Array): void;
}

/** Sets cell (row, column) of `channel` in a 10 x 10 x `channels` observation. */
export function lightCell(obs: Uint8Array, channels: number, row: number, column: number, channel: number): void {
  obs[(row * SIZE + column) * channels + channel] = 1;
}

/** Copies a 10 x 10 map of 0/1 (row-major) into `channel` of an observation. */
export function lightMap(obs: Uint8Array, channels: number, map: readonly number[], channel: number): void {
  for (let i = 0; i < SIZE * SIZE; i++) if (map[i]) obs[i * channels + channel] = 1;
}

/** The number of non-zero cells of a 10 x 10 map. */
export function countCells(map: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < map.length; i++) if (map[i]) n += 1;
  return n;
}

/** A 10 x 10 map of zeros. */
export const emptyMap = (): number[] => Array.from({ length: SIZE * SIZE }, () => 0); // packed, not holey: faster to index

/** A 10 x 10 map of zeros with rows r0..r1-1, columns c0..c1-1 set to 1 (numpy's `map[r0:r1, c0:c1] = 1`). */
export function block(r0: number, r1: number, c0: number, c1: number, map: number[] = emptyMap()): number[] {
  for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) map[r * SIZE + c] = 1;
  return map;
}

export const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
