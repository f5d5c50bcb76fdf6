import { closest } from 'fastest-levenshtein';
import { EnvError } from '../core/errors';
import { Rng } from '../core/rng';
import { Box, Discrete } from '../core/spaces';
import { Canvas, type Rgb } from './draw';
import type { Action, Env, ResetOptions, ResetResult, RgbFrame, StepResult } from './env';
import { BoardGameEnv, type BoardRules } from './board-turn-game';

const ID = 'TicTacToe-v0';
const EMPTY = 0;
const AGENT = 1;
const OPPONENT = 2;

/** The eight lines of three cells (rows, columns, diagonals); cell = row * 3 + column. */
export const LINES: readonly (readonly [number, number, number])[] = [
  [0, 1, 2], [3, 4, 5], [6, 7, 8],
  [0, 3, 6], [1, 4, 7], [2, 5, 8],
  [0, 4, 8], [2, 4, 6],
];

/** How a game ended, as the last step's `info.outcome` says it (from the agent's side). */
export type TicTacToeOutcome = 'win' | 'draw' | 'loss' | 'illegal';

/** `env.config` of TicTacToe-v0. */
export interface TicTacToeConfig {
  /** The built-in opponent: `random` (a legal cell drawn with the env's seeded generator) or `lookahead` (one ply: win if it can, block if it must, else random). Default random. */
  opponent?: 'random' | 'lookahead';
  /** Who moves first: `agent`, `opponent`, or `random` (drawn at each reset). Default agent. */
  first?: 'agent' | 'opponent' | 'random';
  /** Whether the env gives action masks (`actionMask()`, the empty cells); false: it gives none, and an occupied cell loses. Default true. */
  mask?: boolean;
}

const KEYS: Record<keyof TicTacToeConfig, readonly unknown[]> = {
  opponent: ['random', 'lookahead'],
  first: ['agent', 'opponent', 'random'],
  mask: [true, false],
};

/**
 * Tic-tac-toe against a built-in opponent. The agent's action is the cell it marks, 0..8
 * (row * 3 + column, row 0 at the top); the opponent answers in the same step. Reward +1 when
 * the agent completes a line, -1 when the opponent does, 0 for a draw (a full board) and on
 * every other step. The action mask marks the empty cells; an occupied cell, if one is ever
 * chosen (an env made with `mask: false`, or a policy that ignores masks), loses the game: -1,
 * terminated. The last step's `info.outcome` says how the game ended: `win`, `draw`, `loss` or
 * `illegal` (`rl evaluate` counts them). `turnGame()` gives a game with the opponent's seat
 * played from outside: a person against the trained policy, in `rl view`.
 *
 * Observation: Box(3, 3, 3) in {0, 1}, from the agent's side: for each cell (row, column) three
 * one-hot planes, empty / the agent's mark / the opponent's mark. One-hot rather than nine
 * values in {-1, 0, 1}: "this cell is empty" (what the mask and every threat turn on) is then
 * one input a layer can weigh, not the middle of a range, and the agent's and the opponent's
 * marks are separate features whoever moved first.
 */
export class TicTacToe extends BoardGameEnv implements Env {
  readonly actionSpace = new Discrete(9);
  readonly observationSpace = new Box(0, 1, [3, 3, 3]);
  /** The empty cells (1 legal), when the config's `mask` is true (the default); absent otherwise, as `Env.actionMask` is optional. */
  readonly actionMask?: () => Uint8Array;
  /** The config with its defaults filled in. */
  readonly config: Required<TicTacToeConfig>;

  constructor(config: Record<string, unknown> = {}) {
    super(RULES);
    const known = Object.keys(KEYS);
    for (const [key, value] of Object.entries(config)) {
      if (!known.includes(key)) throw new EnvError(`${ID}: unknown config key "${key}"; did you mean "${closest(key, known)}"? Known keys: ${known.join(', ')}`);
      const allowed = KEYS[key as keyof TicTacToeConfig];
      if (!allowed.includes(value)) throw new EnvError(`${ID}: config.${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
    }
    this.config = { opponent: 'random', first: 'agent', mask: true, ...(config as TicTacToeConfig) };
    if (this.config.mask) this.actionMask = () => Uint8Array.from(this.board, (c) => (c === EMPTY ? 1 : 0));
  }

  reset(opts: ResetOptions = {}): ResetResult {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.board.fill(EMPTY);
    this.over = false;
    const first = this.config.first === 'random' ? (this.rng.int(2) === 0 ? 'agent' : 'opponent') : this.config.first;
    if (first === 'opponent') this.board[this.opponentMove()] = OPPONENT;
    return { obs: this.observe(), info: {} };
  }

  step(action: Action): StepResult {
    if (this.over) throw new RangeError(`${ID}: step() after the game ended; call reset()`);
    const cell = action as number;
    if (!this.actionSpace.contains(cell)) throw new RangeError(`${ID}: action ${String(action)} is not in ${this.actionSpace}`);
    if (this.board[cell] !== EMPTY) return this.end(-1, 'illegal');
    this.board[cell] = AGENT;
    if (winner(this.board) === AGENT) return this.end(1, 'win');
    if (!this.board.includes(EMPTY)) return this.end(0, 'draw');
    this.board[this.opponentMove()] = OPPONENT;
    if (winner(this.board) === OPPONENT) return this.end(-1, 'loss');
    if (!this.board.includes(EMPTY)) return this.end(0, 'draw');
    return { obs: this.observe(), reward: 0, terminated: false, truncated: false, info: {} };
  }

  /** The opponent's cell: random among the empty ones, or (lookahead) one that wins, else one that blocks the agent's win, else random. */
  private opponentMove(): number {
    const empty = [...this.board.keys()].filter((i) => this.board[i] === EMPTY);
    if (this.config.opponent === 'lookahead') {
      for (const mark of [OPPONENT, AGENT]) {
        const decisive = empty.filter((i) => completes(this.board, i, mark));
        if (decisive.length > 0) return decisive[this.rng.int(decisive.length)];
      }
    }
    return empty[this.rng.int(empty.length)];
  }

  private end(reward: number, outcome: TicTacToeOutcome): StepResult {
    this.over = true;
    return { obs: this.observe(), reward, terminated: true, truncated: false, info: { outcome } };
  }

  private observe(): Float32Array {
    return observeBoard(this.board);
  }
}

/** The agent's observation of `board`: for each cell, one-hot over empty / the agent's / the opponent's. */
function observeBoard(board: Uint8Array): Float32Array {
  const obs = new Float32Array(27);
  board.forEach((mark, i) => (obs[i * 3 + mark] = 1));
  return obs;
}

const CELL_PX = 64;

/** `board` drawn CELL_PX pixels a cell: the agent's marks as blue crosses, the opponent's as red rings. */
function drawBoard(board: Uint8Array): RgbFrame {
  const cell = CELL_PX;
  const c = new Canvas(3 * cell, 3 * cell, [24, 24, 32]);
  const grid: Rgb = [90, 90, 110];
  for (let k = 1; k < 3; k++) {
    c.rect(k * cell - 2, 0, 4, 3 * cell, grid);
    c.rect(0, k * cell - 2, 3 * cell, 4, grid);
  }
  board.forEach((mark, i) => {
    const [x, y] = [(i % 3) * cell + cell / 2, Math.floor(i / 3) * cell + cell / 2];
    const r = cell * 0.3;
    if (mark === AGENT) {
      c.line([x - r, y - r], [x + r, y + r], [80, 150, 240], 8);
      c.line([x - r, y + r], [x + r, y - r], [80, 150, 240], 8);
    } else if (mark === OPPONENT) {
      c.circle(x, y, r + 2, [230, 90, 80]);
      c.circle(x, y, r - 6, [24, 24, 32]);
    }
  });
  return c.frame();
}

/**
 * TicTacToe-v0's rules and look for `BoardTurnGame` (`Env.turnGame`): the agent's marks are 1
 * and drawn as blue crosses, the opponent's 2 and red rings, as in the env, and the agent sees
 * the board as the env shows it. A click maps to the cell under it (of the 192 x 192 frame).
 */
const RULES: BoardRules = {
  id: ID,
  cells: 9,
  legal: (board) => Uint8Array.from(board, (c) => (c === EMPTY ? 1 : 0)),
  play: (board, move, mark) => {
    board[move] = mark;
    return winner(board) !== EMPTY ? 'win' : board.includes(EMPTY) ? null : 'draw';
  },
  observe: observeBoard,
  render: drawBoard,
  moveAt: (x, y) => {
    const [column, row] = [Math.floor(x / CELL_PX), Math.floor(y / CELL_PX)];
    return column >= 0 && column < 3 && row >= 0 && row < 3 ? row * 3 + column : null;
  },
};

/** The mark (1 or 2) that holds a whole line, or 0. */
export function winner(board: ArrayLike<number>): number {
  for (const [a, b, c] of LINES) if (board[a] !== EMPTY && board[a] === board[b] && board[b] === board[c]) return board[a];
  return EMPTY;
}

/** Whether `mark` in the empty cell `cell` would complete a line of `mark`s. */
function completes(board: ArrayLike<number>, cell: number, mark: number): boolean {
  return LINES.some((line) => line.includes(cell) && line.every((i) => i === cell || board[i] === mark));
}
