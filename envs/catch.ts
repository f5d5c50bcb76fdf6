import type { Action, Env, ResetOptions, ResetResult, RgbFrame, StepResult } from './env';
import { renderGrid } from './render-grid';
import { Box, Discrete } from '../core/spaces';
import { Rng } from '../core/rng';

const ROWS = 10;
const COLUMNS = 5;

/**
 * bsuite's Catch: a ball falls one row per step down a 10 x 5 grid from a random column of
 * the top row; the paddle on the bottom row moves left (0), stays (1) or moves right (2).
 * When the ball reaches the bottom row the episode ends with +1 if the paddle is under it,
 * else -1; every other step pays 0. Observation: the board as an image Box(10, 5, 1), 1 where
 * the ball and the paddle are.
 */
export class Catch implements Env {
  readonly actionSpace = new Discrete(3);
  readonly observationSpace = new Box(0, 1, [ROWS, COLUMNS, 1]);
  private rng = new Rng(0);
  private ball = { x: 0, y: 0 };
  private paddleX = Math.floor(COLUMNS / 2);

  reset(opts: ResetOptions = {}): ResetResult {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    const state = opts.options?.state;
    if (state !== undefined) {
      const ok = Array.isArray(state) && state.length === 3 && state.every((v, i) => Number.isInteger(v) && v >= 0 && v < [COLUMNS, ROWS - 1, COLUMNS][i]);
      if (!ok) throw new RangeError(`Catch: reset options.state must be [ballX, ballY, paddleX] on the board, got ${JSON.stringify(state)}`);
      const [bx, by, px] = state as number[];
      this.ball = { x: bx, y: by };
      this.paddleX = px;
    } else {
      this.ball = { x: this.rng.int(COLUMNS), y: 0 };
      this.paddleX = Math.floor(COLUMNS / 2);
    }
    return { obs: this.observe(), info: {} };
  }

  step(action: Action): StepResult {
    if (!this.actionSpace.contains(action)) throw new RangeError(`Catch: action ${String(action)} is not in ${this.actionSpace}`);
    this.paddleX = Math.min(COLUMNS - 1, Math.max(0, this.paddleX + (action as number) - 1));
    this.ball.y += 1;
    const terminated = this.ball.y === ROWS - 1;
    const reward = terminated ? (this.ball.x === this.paddleX ? 1 : -1) : 0;
    return { obs: this.observe(), reward, terminated, truncated: false, info: {} };
  }

  close(): void {}

  /** The board, 32 pixels a cell (160 x 320): the ball white, the paddle blue. */
  render(): RgbFrame {
    return renderGrid(ROWS, COLUMNS, [
      { row: ROWS - 1, column: this.paddleX, color: [80, 140, 230] },
      { row: this.ball.y, column: this.ball.x, color: [240, 240, 240] },
    ]);
  }

  getState(): unknown {
    return { ball: { ...this.ball }, paddleX: this.paddleX, rng: this.rng.getState() };
  }

  setState(saved: unknown): void {
    const s = saved as { ball: { x: number; y: number }; paddleX: number; rng: number[] };
    this.ball = { ...s.ball };
    this.paddleX = s.paddleX;
    this.rng.setState(s.rng);
  }

  private observe(): Float32Array {
    const board = new Float32Array(ROWS * COLUMNS);
    board[this.ball.y * COLUMNS + this.ball.x] = 1;
    board[(ROWS - 1) * COLUMNS + this.paddleX] = 1;
    return board;
  }
}
