import { closest } from 'fastest-levenshtein';
import { EnvError } from '../core/errors';
import { Rng } from '../core/rng';
import { Box, Discrete } from '../core/spaces';
import { COLUMNS, EMPTY, ROWS, columnAt, drawBoard, legalColumns, legalList, observePlanes, playMove } from './connect-four-board';
import { MAX_DEPTH, minimaxColumn, randomColumn } from './connect-four-opponents';
import type { Action, Env, ResetOptions, ResetResult, StepResult } from './env';
import { BoardGameEnv, type BoardRules } from './board-turn-game';
import type { GameResult } from './turn-game';

export { ConnectFourParallel } from './connect-four-parallel';

const ID = 'ConnectFour-v0';
const AGENT = 1;
const OPPONENT = 2;
export { MAX_DEPTH };

/** `env.config` of the single-agent ConnectFour-v0. */
export interface ConnectFourConfig {
  /** The built-in opponent: `random` (a legal column drawn with the env's seeded generator) or `minimax` (depth-`depth` negamax with a line-counting heuristic). Default random. */
  opponent?: 'random' | 'minimax';
  /** Plies the minimax opponent looks ahead, its own move included: 1 to MAX_DEPTH. Default 2 (it takes a win, and blocks a threat of one). */
  depth?: number;
  /** Who moves first: `agent`, `opponent`, or `random` (drawn at each reset). Default agent. */
  first?: 'agent' | 'opponent' | 'random';
}

const CHOICES = { opponent: ['random', 'minimax'], first: ['agent', 'opponent', 'random'] } as const;

/** The config with its defaults, each key checked: an EnvError naming the key, the value and the rule. */
function connectFourConfig(config: Record<string, unknown>): Required<ConnectFourConfig> {
  const known = ['opponent', 'depth', 'first'];
  for (const [key, value] of Object.entries(config)) {
    if (!known.includes(key)) throw new EnvError(`${ID}: unknown config key "${key}"; did you mean "${closest(key, known)}"? Known keys: ${known.join(', ')}`);
    if (key === 'depth') {
      if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_DEPTH) throw new EnvError(`${ID}: config.depth must be a whole number from 1 to ${MAX_DEPTH}, got ${JSON.stringify(value)}`);
    } else if (!(CHOICES[key as keyof typeof CHOICES] as readonly unknown[]).includes(value)) {
      throw new EnvError(`${ID}: config.${key} must be one of ${CHOICES[key as keyof typeof CHOICES].join(', ')}, got ${JSON.stringify(value)}`);
    }
  }
  return { opponent: 'random', depth: 2, first: 'agent', ...(config as ConnectFourConfig) };
}

/**
 * Connect Four against a built-in opponent: the single-agent view of PettingZoo's
 * `connect_four_v3` (`ConnectFourParallel` is the two-player game). The agent's action is the
 * column it drops a piece into, 0..6; the opponent answers in the same step. Reward +1 when the
 * agent makes four in a line, -1 when the opponent does, 0 for a draw (a full board) and on every
 * other step; the last step's `info.outcome` says `win`, `draw` or `loss`. The action mask marks
 * the columns with room; a full column is refused (an EnvError naming it), as PettingZoo refuses
 * it. Observation: Box(0, 1, [6, 7, 2]), row 0 at the top, plane 0 the agent's pieces, plane 1
 * the opponent's, whoever moved first.
 */
export class ConnectFour extends BoardGameEnv implements Env {
  readonly actionSpace = new Discrete(COLUMNS);
  readonly observationSpace = new Box(0, 1, [ROWS, COLUMNS, 2]);
  /** The config with its defaults filled in. */
  readonly config: Required<ConnectFourConfig>;

  constructor(config: Record<string, unknown> = {}) {
    super(RULES);
    this.config = connectFourConfig(config);
  }

  reset(opts: ResetOptions = {}): ResetResult {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.board.fill(EMPTY);
    this.over = false;
    const first = this.config.first === 'random' ? (this.rng.int(2) === 0 ? 'agent' : 'opponent') : this.config.first;
    if (first === 'opponent') playMove(this.board, this.opponentMove(), OPPONENT);
    return { obs: observePlanes(this.board, AGENT), info: {} };
  }

  step(action: Action): StepResult {
    if (this.over) throw new RangeError(`${ID}: step() after the game ended; call reset()`);
    const column = action as number;
    if (!this.actionSpace.contains(column)) throw new RangeError(`${ID}: action ${String(action)} is not in ${this.actionSpace}`);
    if (this.board[column] !== EMPTY) throw new EnvError(`${ID}: column ${column} is full; the legal columns are ${legalList(this.board)}`, { field: 'action' });
    const mine = playMove(this.board, column, AGENT);
    if (mine !== null) return this.end(mine === 'win' ? 1 : 0, mine === 'win' ? 'win' : 'draw');
    const theirs = playMove(this.board, this.opponentMove(), OPPONENT);
    if (theirs !== null) return this.end(theirs === 'win' ? -1 : 0, theirs === 'win' ? 'loss' : 'draw');
    return { obs: observePlanes(this.board, AGENT), reward: 0, terminated: false, truncated: false, info: {} };
  }

  /** The columns with room, 1 each. */
  actionMask(): Uint8Array {
    return legalColumns(this.board);
  }

  private opponentMove(): number {
    return this.config.opponent === 'minimax' ? minimaxColumn(this.board, OPPONENT, this.config.depth, this.rng) : randomColumn(this.board, this.rng);
  }

  private end(reward: number, outcome: GameResult): StepResult {
    this.over = true;
    return { obs: observePlanes(this.board, AGENT), reward, terminated: true, truncated: false, info: { outcome } };
  }
}

/** ConnectFour-v0's rules and look for `BoardTurnGame`: the agent's pieces 1 (blue), the opponent's 2 (red); a click names the column under it. */
const RULES: BoardRules = { id: ID, cells: ROWS * COLUMNS, legal: legalColumns, play: playMove, observe: (board) => observePlanes(board, AGENT), render: drawBoard, moveAt: columnAt };
