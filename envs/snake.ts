import { closest } from 'fastest-levenshtein';
import { EnvError } from '../core/errors';
import type { Action, Env, ResetOptions, ResetResult, RgbFrame, StepResult } from './env';
import { renderGrid, type GridCell } from './render-grid';
import { Box, Discrete } from '../core/spaces';
import { Rng } from '../core/rng';

const ID = 'Snake-v0';
const MIN_SIZE = 4;
const MAX_SIZE = 16;

/** Headings, clockwise, as [rowDelta, columnDelta]; row 0 is the top of the board. */
const HEADINGS = ['up', 'right', 'down', 'left'] as const;
const DELTAS: readonly [number, number][] = [[-1, 0], [0, 1], [1, 0], [0, -1]];
type Heading = (typeof HEADINGS)[number];

/** A cell as [row, column]. */
type Cell = [number, number];

/** Where a snake is, as `reset({ options: { state } })` takes it. */
export interface SnakeBoard {
  /** The snake's cells, head first; each next to the one before. */
  snake: Cell[];
  /** The way the head moves on "straight"; it points away from the second cell. */
  heading: Heading;
  food: Cell;
}

/** The whole state, for checkpoints: the board, the starvation counter and the generator. */
interface SnakeState {
  snake: Cell[];
  heading: Heading;
  /** null once the snake fills the board. */
  food: Cell | null;
  stepsSinceFood: number;
  terminated: boolean;
  rng: number[];
}

/**
 * Snake on a `size` x `size` board (config `{ size }`, 4 to 16, default 8). The snake starts
 * three cells long in the middle row, head at column size/2, heading right; food lies on a
 * free cell drawn uniformly with the env's generator.
 *
 * Actions are relative to the heading: 0 goes straight, 1 turns left, 2 turns right (an
 * agent then needs no notion of compass directions, and cannot reverse into its own neck).
 * Eating pays +1 and grows the snake by one; new food goes on a free cell. Leaving the board
 * or running into the body pays -1 and terminates (the cell the tail leaves this step is free).
 * Filling the board pays +1 and terminates. After size * size * 2 steps without food the
 * episode is truncated (starvation), so that circling forever ends; the registry adds a time
 * limit on top.
 *
 * Observation: Box(size, size, 3) in [0, 1], row-major (row, column, channel): channel 0 the
 * body (every cell but the head), channel 1 the head, channel 2 the food.
 */
export class Snake implements Env {
  readonly size: number;
  readonly actionSpace = new Discrete(3);
  readonly observationSpace: Box;
  /** Steps without food after which the episode is truncated. */
  readonly starvationSteps: number;
  private rng = new Rng(0);
  private snake: Cell[] = [];
  private heading = 1;
  private food: Cell | null = null;
  private stepsSinceFood = 0;
  /** True before the first reset and after a termination: step() needs a reset first. */
  private terminated = true;

  constructor(config: Record<string, unknown> = {}) {
    for (const key of Object.keys(config)) {
      if (key !== 'size') throw new EnvError(`${ID}: unknown config key "${key}"; did you mean "${closest(key, ['size'])}"? Known keys: size`);
    }
    const size = config.size ?? 8;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) {
      throw new EnvError(`${ID}: config.size must be an integer from ${MIN_SIZE} to ${MAX_SIZE}, got ${JSON.stringify(size)}`);
    }
    this.size = size;
    this.observationSpace = new Box(0, 1, [size, size, 3]);
    this.starvationSteps = size * size * 2;
  }

  reset(opts: ResetOptions = {}): ResetResult {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    const board = opts.options?.state;
    if (board !== undefined) {
      const why = this.invalidBoard(board);
      if (why) throw new RangeError(`${ID}: reset options.state must be { snake: [[row, column], ...] head first, heading: 'up' | 'right' | 'down' | 'left', food: [row, column] }: ${why}, got ${JSON.stringify(board)}`);
      const b = board as SnakeBoard;
      this.snake = b.snake.map(([r, c]) => [r, c]);
      this.heading = HEADINGS.indexOf(b.heading);
      this.food = [b.food[0], b.food[1]];
    } else {
      const mid = Math.floor(this.size / 2);
      this.snake = [[mid, mid], [mid, mid - 1], [mid, mid - 2]];
      this.heading = 1;
      this.food = this.placeFood();
    }
    this.stepsSinceFood = 0;
    this.terminated = false;
    return { obs: this.observe(), info: {} };
  }

  step(action: Action): StepResult {
    if (!this.actionSpace.contains(action)) throw new RangeError(`${ID}: action ${String(action)} is not in ${this.actionSpace} (0 straight, 1 turn left, 2 turn right)`);
    if (this.terminated) throw new Error(`${ID}: step() called before reset() or after the episode terminated; call reset() first`);
    this.heading = (this.heading + [0, 3, 1][action as number]) % 4;
    const [dr, dc] = DELTAS[this.heading];
    const head: Cell = [this.snake[0][0] + dr, this.snake[0][1] + dc];
    const eats = this.food !== null && head[0] === this.food[0] && head[1] === this.food[1];
    // Unless the snake grows, its tail moves on this step, so the head may take the tail's cell.
    const body = eats ? this.snake : this.snake.slice(0, -1);
    const offBoard = head[0] < 0 || head[0] >= this.size || head[1] < 0 || head[1] >= this.size;
    if (offBoard || body.some(([r, c]) => r === head[0] && c === head[1])) {
      this.terminated = true;
      return { obs: this.observe(), reward: -1, terminated: true, truncated: false, info: {} };
    }
    this.snake = [head, ...body];
    if (eats) {
      this.stepsSinceFood = 0;
      this.food = this.placeFood();
      this.terminated = this.food === null; // the board is full
      return { obs: this.observe(), reward: 1, terminated: this.terminated, truncated: false, info: {} };
    }
    this.stepsSinceFood += 1;
    return { obs: this.observe(), reward: 0, terminated: false, truncated: this.stepsSinceFood >= this.starvationSteps, info: {} };
  }

  close(): void {}

  /** The board, 32 pixels a cell (256 x 256 at size 8): the body green, the head darker, the food red. */
  render(): RgbFrame {
    const cells: GridCell[] = this.snake.map(([row, column], i) => ({ row, column, color: i === 0 ? [30, 130, 60] : [90, 200, 110] }));
    if (this.food) cells.push({ row: this.food[0], column: this.food[1], color: [220, 60, 60] });
    return renderGrid(this.size, this.size, cells);
  }

  getState(): unknown {
    const state: SnakeState = {
      snake: this.snake.map(([r, c]) => [r, c]),
      heading: HEADINGS[this.heading],
      food: this.food && [this.food[0], this.food[1]],
      stepsSinceFood: this.stepsSinceFood,
      terminated: this.terminated,
      rng: this.rng.getState(),
    };
    return state;
  }

  setState(saved: unknown): void {
    const s = saved as SnakeState;
    this.snake = s.snake.map(([r, c]) => [r, c]);
    this.heading = HEADINGS.indexOf(s.heading);
    this.food = s.food && [s.food[0], s.food[1]];
    this.stepsSinceFood = s.stepsSinceFood;
    this.terminated = s.terminated;
    this.rng.setState(s.rng);
  }

  /** A free cell drawn uniformly, or null when the snake fills the board. */
  private placeFood(): Cell | null {
    const taken = new Set(this.snake.map(([r, c]) => r * this.size + c));
    const free: number[] = [];
    for (let i = 0; i < this.size * this.size; i++) if (!taken.has(i)) free.push(i);
    if (free.length === 0) return null;
    const cell = free[this.rng.int(free.length)];
    return [Math.floor(cell / this.size), cell % this.size];
  }

  private observe(): Float32Array {
    const obs = new Float32Array(this.size * this.size * 3);
    const at = ([r, c]: Cell, channel: number) => (obs[(r * this.size + c) * 3 + channel] = 1);
    this.snake.forEach((cell, i) => i > 0 && at(cell, 0));
    at(this.snake[0], 1); // after a fatal move, the board as it was before the move
    if (this.food) at(this.food, 2);
    return obs;
  }

  /** Why `board` is not a valid `SnakeBoard` on this grid, or undefined when it is. */
  private invalidBoard(board: unknown): string | undefined {
    const b = board as Partial<SnakeBoard> | null;
    const onBoard = (c: unknown): c is Cell => Array.isArray(c) && c.length === 2 && c.every((v) => Number.isInteger(v) && v >= 0 && v < this.size);
    if (typeof b !== 'object' || b === null) return 'not an object';
    if (!Array.isArray(b.snake) || b.snake.length < 1) return 'snake must be a non-empty array of cells';
    if (!b.snake.every(onBoard)) return `snake cells must be [row, column] on the ${this.size} x ${this.size} board`;
    const keys = new Set(b.snake.map(([r, c]) => r * this.size + c));
    if (keys.size !== b.snake.length) return 'snake cells must be distinct';
    for (let i = 1; i < b.snake.length; i++) {
      if (Math.abs(b.snake[i][0] - b.snake[i - 1][0]) + Math.abs(b.snake[i][1] - b.snake[i - 1][1]) !== 1) return `snake cell ${i} is not next to cell ${i - 1}`;
    }
    const h = HEADINGS.indexOf(b.heading as Heading);
    if (h < 0) return 'heading must be up, right, down or left';
    const [[hr, hc], neck] = b.snake;
    if (neck && (neck[0] !== hr - DELTAS[h][0] || neck[1] !== hc - DELTAS[h][1])) return 'heading must point away from the second snake cell';
    if (!onBoard(b.food)) return 'food must be [row, column] on the board';
    if (keys.has(b.food[0] * this.size + b.food[1])) return 'food must be on a free cell';
    return undefined;
  }
}
