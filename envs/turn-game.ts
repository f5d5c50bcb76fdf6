import type { Observation } from '../core/algorithm';
import { EnvError } from '../core/errors';
import type { RgbFrame } from './env';

/** A seat of a two-player turn game: the agent (the policy that trained on the env) or its opponent. */
export type Player = 'agent' | 'opponent';

/** How a game ended, from the agent's side. */
export type GameResult = 'win' | 'draw' | 'loss';

/** One move of a game: who made it, and the action. */
export interface GameMove {
  /** Who moved. */
  player: Player;
  /** The move, an action of the env's Discrete action space. */
  move: number;
}

/**
 * One game of a two-player turn game in which both seats are played from outside, one move at
 * a time, as PettingZoo's AEC API steps a game: whoever `toMove()` names plays next with
 * `play(move)`. The env's built-in opponent plays no part. `rl view`'s "Play against it" gives
 * the agent's seat to the trained policy (its greedy action on `observe()`, under the mask
 * `legalMoves()`) and the opponent's seat to a person, whose click on the board `moveAt` turns
 * into a move. `Env.turnGame` makes one.
 */
export interface TurnGame {
  /** Whose move it is; null once the game is over. */
  toMove(): Player | null;
  /** The legal moves of the player to move: n bytes for the env's `Discrete(n)`, 1 legal; all 0 once the game is over. */
  legalMoves(): Uint8Array;
  /** The game now as the agent sees it, in the env's `observationSpace`, as its steps give it: what the agent's policy acts on. */
  observe(): Observation;
  /** Plays the move of the player to move; an EnvError with `illegalMove`'s message for a move that is not one of its legal moves, or after the game's end. */
  play(move: number): void;
  /** How the game ended, from the agent's side; null while it goes on. */
  result(): GameResult | null;
  /** The moves so far, oldest first. */
  moves(): readonly GameMove[];
  /** The board as a picture, drawn as `Env.render` draws the env. */
  render(): RgbFrame;
  /** The move a point of `render()`'s frame names (x, y in pixels from its top-left: where a person clicked), or null where it names none. */
  moveAt(x: number, y: number): number | null;
}

/**
 * Why `move` cannot be played in `game` now, in one line naming the env, the move and the rule,
 * or null when it can: the game is over, or the move is not an integer from 0 to n - 1, or it is
 * not one of `legalMoves()`. A `TurnGame`'s `play` throws it; the `rl view` page asks it first,
 * so that a refused click is said and counted rather than thrown.
 */
export function illegalMove(envId: string, game: Pick<TurnGame, 'legalMoves' | 'result'>, move: unknown): string | null {
  const result = game.result();
  if (result !== null) return `${envId}: the game is over (${result}); start a new one`;
  const legal = game.legalMoves();
  if (typeof move !== 'number' || !Number.isInteger(move) || move < 0 || move >= legal.length) {
    const got = typeof move === 'string' ? JSON.stringify(move) : Array.isArray(move) ? 'an array' : typeof move === 'object' && move !== null ? 'an object' : typeof move === 'function' ? 'a function' : String(move);
    return `${envId}: a move must be an integer from 0 to ${legal.length - 1}, got ${got}`;
  }
  if (legal[move] !== 1) return `${envId}: move ${move} is not legal now; the legal moves are ${[...legal.keys()].filter((i) => legal[i] === 1).join(', ')}`;
  return null;
}

/** `illegalMove`'s refusal as the EnvError `TurnGame.play` throws, or nothing when `move` is legal. */
export function checkMove(envId: string, game: Pick<TurnGame, 'legalMoves' | 'result'>, move: unknown): void {
  const why = illegalMove(envId, game, move);
  if (why !== null) throw new EnvError(why, { field: 'move' });
}
