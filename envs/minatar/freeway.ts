import type { Rng } from '../../core/rng';
import { lightCell, type GameAction, type MinAtarGame } from './game';

const PLAYER_SPEED = 3;
const TIME_LIMIT = 2500;

/** A car in row `y` (1-8) that moves a cell every |speed| + 1 frames, right for speed > 0. */
interface Car {
  x: number;
  y: number;
  timer: number;
  speed: number;
}

export interface FreewayState {
  /** The chicken's row; its column is always 4. */
  pos: number;
  cars: Car[];
  moveTimer: number;
  terminateTimer: number;
  terminal: boolean;
}

/**
 * MinAtar Freeway: the chicken crosses eight lanes of cars from the bottom row to the top, up
 * or down a row at most every 3 frames. Reaching the top pays +1, sends it back to the bottom
 * and redraws the cars' speeds (1-5) and directions; a car that meets it sends it back to the
 * bottom. Cars wrap around at the edges. The episode ends after 2,500 frames (2,501 steps). No
 * difficulty ramp. Channels: chicken, car, then speed1..speed5 (the cell a car came from, in the
 * plane of its speed).
 */
export const freeway: MinAtarGame<FreewayState> = {
  channels: ['chicken', 'car', 'speed1', 'speed2', 'speed3', 'speed4', 'speed5'],
  minimalActions: ['n', 'u', 'd'],

  start(rng: Rng): FreewayState {
    const speeds = drawSpeeds(rng);
    return { pos: 9, cars: speeds.map((speed, i) => ({ x: 0, y: i + 1, timer: Math.abs(speed), speed })), moveTimer: PLAYER_SPEED, terminateTimer: TIME_LIMIT, terminal: false };
  },

  act(s: FreewayState, a: GameAction, rng: Rng): number {
    let reward = 0;
    if (a === 'u' && s.moveTimer === 0) {
      s.moveTimer = PLAYER_SPEED;
      s.pos = Math.max(0, s.pos - 1);
    } else if (a === 'd' && s.moveTimer === 0) {
      s.moveTimer = PLAYER_SPEED;
      s.pos = Math.min(9, s.pos + 1);
    }
    if (s.pos === 0) {
      reward += 1;
      drawSpeeds(rng).forEach((speed, i) => Object.assign(s.cars[i], { timer: Math.abs(speed), speed }));
      s.pos = 9;
    }
    for (const car of s.cars) {
      if (car.x === 4 && car.y === s.pos) s.pos = 9;
      if (car.timer === 0) {
        car.timer = Math.abs(car.speed);
        car.x = (car.x + (car.speed > 0 ? 1 : -1) + 10) % 10;
        if (car.x === 4 && car.y === s.pos) s.pos = 9;
      } else car.timer -= 1;
    }
    if (s.moveTimer > 0) s.moveTimer -= 1;
    s.terminateTimer -= 1;
    if (s.terminateTimer < 0) s.terminal = true;
    return reward;
  },

  terminal: (s) => s.terminal,

  draw(s: FreewayState, obs: Uint8Array): void {
    lightCell(obs, 7, s.pos, 4, 0);
    for (const car of s.cars) {
      lightCell(obs, 7, car.y, car.x, 1);
      const back = (car.x + (car.speed > 0 ? -1 : 1) + 10) % 10;
      lightCell(obs, 7, car.y, back, 1 + Math.abs(car.speed));
    }
  },
};

/**
 * Eight signed speeds: magnitudes 1-5, then directions, drawn in the reference's order (eight
 * `randint(1, 6)`, then eight `rand()`, negative below 0.5).
 */
function drawSpeeds(rng: Rng): number[] {
  const magnitudes = Array.from({ length: 8 }, () => 1 + rng.int(5));
  return magnitudes.map((m) => (rng.random() < 0.5 ? -m : m));
}
