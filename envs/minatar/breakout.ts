import type { Rng } from '../../core/rng';
import { SIZE, block, clamp, countCells, lightCell, lightMap, type GameAction, type MinAtarGame } from './game';

/** The ball's four headings (the reference's `ball_dir`), as column and row steps. */
const DX = [-1, 1, 1, -1]; // 0 up-left, 1 up-right, 2 down-right, 3 down-left
const DY = [-1, -1, 1, 1];
/** New headings after a bounce off a side wall, off the ceiling/a brick/the paddle's middle, and off the paddle's edge. */
const OFF_SIDE = [1, 0, 3, 2];
const OFF_TOP = [3, 2, 1, 0];
const OFF_EDGE = [2, 3, 0, 1];

export interface BreakoutState {
  ballX: number;
  ballY: number;
  ballDir: number;
  /** Where the ball was a frame ago (the trail channel). */
  lastX: number;
  lastY: number;
  paddle: number;
  /** 10 x 10, row-major: 1 where a brick stands. */
  bricks: number[];
  /** The ball broke a brick last frame: it cannot break another on the next. */
  strike: boolean;
  terminal: boolean;
}

/**
 * MinAtar Breakout: a paddle on the bottom row, a ball moving along diagonals, three rows of
 * bricks (rows 1-3). The ball bounces off the walls and ceiling; it breaks a brick it runs into
 * (+1) and turns back; at the bottom row the paddle under the ball's old column sends it back
 * up the way it came, the paddle under its new column sends it back up the other diagonal, and
 * otherwise the episode ends. When the bricks are gone, the next time the ball reaches the
 * bottom row they are all put back. Channels: paddle, ball, trail, brick. No difficulty ramp.
 */
export const breakout: MinAtarGame<BreakoutState> = {
  channels: ['paddle', 'ball', 'trail', 'brick'],
  minimalActions: ['n', 'l', 'r'],

  start(rng: Rng): BreakoutState {
    const [ballX, ballDir] = rng.int(2) === 0 ? [0, 2] : [9, 3];
    return { ballX, ballY: 3, ballDir, lastX: ballX, lastY: 3, paddle: 4, bricks: block(1, 4, 0, SIZE), strike: false, terminal: false };
  },

  act(s: BreakoutState, a: GameAction): number {
    let reward = 0;
    if (a === 'l') s.paddle = Math.max(0, s.paddle - 1);
    else if (a === 'r') s.paddle = Math.min(9, s.paddle + 1);
    s.lastX = s.ballX;
    s.lastY = s.ballY;
    let x = s.ballX + DX[s.ballDir];
    let y = s.ballY + DY[s.ballDir];
    let struck = false;
    if (x < 0 || x > 9) {
      x = clamp(x, 0, 9);
      s.ballDir = OFF_SIDE[s.ballDir];
    }
    if (y < 0) {
      y = 0;
      s.ballDir = OFF_TOP[s.ballDir];
    } else if (s.bricks[y * SIZE + x]) {
      // Right after a strike the ball passes into the next brick without breaking it (as the reference does).
      struck = true;
      if (!s.strike) {
        reward += 1;
        s.strike = true;
        s.bricks[y * SIZE + x] = 0;
        y = s.lastY;
        s.ballDir = OFF_TOP[s.ballDir];
      }
    } else if (y === 9) {
      if (countCells(s.bricks) === 0) block(1, 4, 0, SIZE, s.bricks);
      if (s.ballX === s.paddle) {
        s.ballDir = OFF_TOP[s.ballDir];
        y = s.lastY;
      } else if (x === s.paddle) {
        s.ballDir = OFF_EDGE[s.ballDir];
        y = s.lastY;
      } else {
        s.terminal = true;
      }
    }
    if (!struck) s.strike = false;
    s.ballX = x;
    s.ballY = y;
    return reward;
  },

  terminal: (s) => s.terminal,

  draw(s: BreakoutState, obs: Uint8Array): void {
    lightCell(obs, 4, 9, s.paddle, 0);
    lightCell(obs, 4, s.ballY, s.ballX, 1);
    lightCell(obs, 4, s.lastY, s.lastX, 2);
    lightMap(obs, 4, s.bricks, 3);
  },
};
