import type { Rng } from '../core/rng';
import { COLUMNS, EMPTY, WINDOWS, drop, legalColumns, winsAt } from './connect-four-board';

/** The deepest minimax search `depth` allows (depth 6: about 90 ms a move on the empty board). */
export const MAX_DEPTH = 6;

/** What a won line is worth to minimax: more than any heuristic score; a sooner win is worth more. */
const WIN = 1_000_000;
/** What a line of four cells holding k of a player's pieces and none of the other's is worth to it (k = 0..3). */
const LINE_VALUE = [0, 1, 4, 16];

/** A uniformly drawn legal column. */
export function randomColumn(board: Uint8Array, rng: Rng): number {
  const legal = legalColumns(board);
  const options = [...legal.keys()].filter((c) => legal[c] === 1);
  return options[rng.int(options.length)];
}

/** The opportunist: a column that wins for the player of `piece` if it has one (drawn among them), else a random legal column. */
export function opportunistColumn(board: Uint8Array, piece: number, rng: Rng): number {
  const work = board.slice();
  const wins: number[] = [];
  for (let c = 0; c < COLUMNS; c++) {
    if (work[c] !== EMPTY) continue;
    const cell = drop(work, c, piece);
    if (winsAt(work, cell)) wins.push(c);
    work[cell] = EMPTY;
  }
  return wins.length > 0 ? wins[rng.int(wins.length)] : randomColumn(board, rng);
}

/**
 * The column depth-`depth` minimax (negamax with alpha-beta) picks for the player of `piece`:
 * `depth` plies counting its own move (1: its moves only; 2: and each reply). A won game is worth
 * WIN plus the plies left (a sooner win more, a later loss less), a draw 0, and a position at the
 * depth limit `heuristic`'s score. Among equally good columns it draws one with `rng`, so a game
 * against it is not the same game every time.
 */
export function minimaxColumn(board: Uint8Array, piece: number, depth: number, rng: Rng): number {
  const work = board.slice();
  let best = -Infinity;
  let ties: number[] = [];
  for (let c = 0; c < COLUMNS; c++) {
    if (work[c] !== EMPTY) continue;
    const value = moveValue(work, c, piece, depth, -Infinity, Infinity);
    if (value > best) [best, ties] = [value, [c]];
    else if (value === best) ties.push(c);
  }
  return ties[rng.int(ties.length)];
}

/** The value, to the player of `piece`, of playing `column` (legal) with `depth` plies to look at, searched within (alpha, beta). */
function moveValue(board: Uint8Array, column: number, piece: number, depth: number, alpha: number, beta: number): number {
  const cell = drop(board, column, piece);
  let value: number;
  if (winsAt(board, cell)) value = WIN + depth;
  else if (!board.subarray(0, COLUMNS).includes(EMPTY)) value = 0;
  else if (depth <= 1) value = heuristic(board, piece);
  else value = -bestValue(board, 3 - piece, depth - 1, -beta, -alpha);
  board[cell] = EMPTY;
  return value;
}

/** The best value of a move for the player of `piece` (some column is legal), cut off at beta. */
function bestValue(board: Uint8Array, piece: number, depth: number, alpha: number, beta: number): number {
  let best = -Infinity;
  for (let c = 0; c < COLUMNS; c++) {
    if (board[c] !== EMPTY) continue;
    best = Math.max(best, moveValue(board, c, piece, depth, alpha, beta));
    alpha = Math.max(alpha, best);
    if (alpha >= beta) break;
  }
  return best;
}

/**
 * The heuristic score of `board` for the player of `piece`: over the 69 lines of four, each line
 * holding only its pieces scores LINE_VALUE[k] for its k pieces, each holding only the other's
 * the same negated; mixed lines, which no one can complete, score 0.
 */
export function heuristic(board: Uint8Array, piece: number): number {
  let score = 0;
  for (const line of WINDOWS) {
    let own = 0;
    let other = 0;
    for (const cell of line) {
      if (board[cell] === piece) own++;
      else if (board[cell] !== EMPTY) other++;
    }
    if (other === 0) score += LINE_VALUE[own] ?? 0;
    else if (own === 0) score -= LINE_VALUE[other] ?? 0;
  }
  return score;
}
