import type { Observation } from '../core/algorithm';
import { Rng } from '../core/rng';
import type { RgbFrame } from './env';
import { checkMove, type GameMove, type GameResult, type Player, type TurnGame } from './turn-game';

/** The agent's pieces on a `BoardTurnGame`'s board; the opponent's are 2, an empty cell 0. */
const AGENT = 1;
const OPPONENT = 2;

/** The rules a `BoardTurnGame` plays by: a board of cells holding 0 (empty), 1 (the agent's) or 2 (the opponent's). */
export interface BoardRules {
  /** The env's id, for messages. */
  id: string;
  /** Cells on the board. */
  cells: number;
  /** The legal moves on `board`, n bytes, 1 legal. */
  legal(board: Uint8Array): Uint8Array;
  /** Plays the legal `move` of `piece` on `board`; whether that ended the game: the mover won, a draw, or null. */
  play(board: Uint8Array, move: number, piece: number): 'win' | 'draw' | null;
  /** The board as the agent sees it, as the env's steps give it. */
  observe(board: Uint8Array): Observation;
  /** The board as a picture, as the env renders it. */
  render(board: Uint8Array): RgbFrame;
  /** The move a point of `render`'s frame names, or null. */
  moveAt(x: number, y: number): number | null;
}

/**
 * A `TurnGame` (`Env.turnGame`) of a board game whose moves put a piece of the mover's on the
 * board: the two seats played from outside, the rules and the look given by the env. TicTacToe-v0
 * and ConnectFour-v0 make theirs with it.
 */
export class BoardTurnGame implements TurnGame {
  private readonly board: Uint8Array;
  private readonly history: GameMove[] = [];
  private turn: Player | null;
  private outcome: GameResult | null = null;

  constructor(private readonly rules: BoardRules, first: Player) {
    this.board = new Uint8Array(rules.cells);
    this.turn = first;
  }

  toMove(): Player | null {
    return this.turn;
  }

  legalMoves(): Uint8Array {
    const legal = this.rules.legal(this.board);
    if (this.turn === null) legal.fill(0);
    return legal;
  }

  observe(): Observation {
    return this.rules.observe(this.board);
  }

  play(move: number): void {
    checkMove(this.rules.id, this, move);
    const player = this.turn!;
    const end = this.rules.play(this.board, move, player === 'agent' ? AGENT : OPPONENT);
    this.history.push({ player, move });
    if (end === 'win') this.outcome = player === 'agent' ? 'win' : 'loss';
    else if (end === 'draw') this.outcome = 'draw';
    this.turn = this.outcome !== null ? null : player === 'agent' ? 'opponent' : 'agent';
  }

  result(): GameResult | null {
    return this.outcome;
  }

  moves(): readonly GameMove[] {
    return this.history;
  }

  render(): RgbFrame {
    return this.rules.render(this.board);
  }

  moveAt(x: number, y: number): number | null {
    return this.rules.moveAt(x, y);
  }
}

/** What a `BoardGameEnv` saves: the board, whether the game is over, and its generator. */
interface BoardGameState {
  board: number[];
  over: boolean;
  rng: number[];
}

/**
 * What the single-agent board games (TicTacToe-v0, ConnectFour-v0) share besides their rules:
 * the board, whether the game is over, the seeded generator their opponent draws from, and the
 * methods that only need those and the rules: `render`, `turnGame`, `getState` / `setState`.
 */
export abstract class BoardGameEnv {
  /** The cells: 0 empty, 1 the agent's, 2 the opponent's. */
  protected readonly board: Uint8Array;
  /** Whether the game has ended (true before the first reset). */
  protected over = true;
  /** The generator the opponent draws from, seeded at reset. */
  protected rng = new Rng(0);

  /** @param rules The game's rules and look. */
  constructor(protected readonly rules: BoardRules) {
    this.board = new Uint8Array(rules.cells);
  }

  close(): void {}

  /** The board as the rules draw it. */
  render(): RgbFrame {
    return this.rules.render(this.board);
  }

  /** A game against whoever plays the opponent's seat from outside (a person in `rl view`), `first` moving first; this env's own game is left as it is. */
  turnGame(first: Player): TurnGame {
    return new BoardTurnGame(this.rules, first);
  }

  getState(): unknown {
    const s: BoardGameState = { board: Array.from(this.board), over: this.over, rng: this.rng.getState() };
    return s;
  }

  setState(saved: unknown): void {
    const s = saved as BoardGameState;
    this.board.set(s.board);
    this.over = s.over;
    this.rng.setState(s.rng);
  }
}
