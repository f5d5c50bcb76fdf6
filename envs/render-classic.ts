import type { RgbFrame } from './env';
import { Canvas, rotate, type Point, type Rgb } from './draw';

// Gymnasium's classic-control `render()` methods (rgb_array mode), drawn as their pygame code
// draws: y up, flipped at the end; sizes, scales and colours as there. No anti-aliasing.

const BLACK: Rgb = [0, 0, 0];

/** CartPole-v1, 600 x 400: the track, the cart, the pole and its axle. */
export function renderCartPole(state: readonly number[]): RgbFrame {
  const [width, height] = [600, 400];
  const scale = width / (2.4 * 2);
  const poleWidth = 10;
  const poleLen = scale * (2 * 0.5);
  const [cartWidth, cartHeight] = [50, 30];
  const c = new Canvas(width, height);
  const axleOffset = cartHeight / 4;
  const cartX = state[0] * scale + width / 2;
  const cartY = 100; // top of the cart
  const [l, r, t, b] = [-cartWidth / 2, cartWidth / 2, cartHeight / 2, -cartHeight / 2];
  c.polygon([[l + cartX, b + cartY], [l + cartX, t + cartY], [r + cartX, t + cartY], [r + cartX, b + cartY]], BLACK);
  const [pl, pr, pt, pb] = [-poleWidth / 2, poleWidth / 2, poleLen - poleWidth / 2, -poleWidth / 2];
  const pole = ([[pl, pb], [pl, pt], [pr, pt], [pr, pb]] as Point[]).map((p) => {
    const q = rotate(p, -state[2]);
    return [q[0] + cartX, q[1] + cartY + axleOffset] as Point;
  });
  c.polygon(pole, [202, 152, 101]);
  c.circle(Math.trunc(cartX), Math.trunc(cartY + axleOffset), Math.trunc(poleWidth / 2), [129, 132, 203]);
  c.line([0, cartY], [width, cartY], BLACK);
  return c.flipVertical().frame();
}

const MIN_POSITION = -1.2;
const MAX_POSITION = 0.6;
const hillHeight = (x: number) => Math.sin(3 * x) * 0.45 + 0.55;

/** MountainCar-v0 and MountainCarContinuous-v0, 600 x 400: the hill, the car, its wheels, the flag. */
export function renderMountainCar(position: number, goalPosition: number): RgbFrame {
  const [width, height] = [600, 400];
  const scale = width / (MAX_POSITION - MIN_POSITION);
  const [carWidth, carHeight] = [40, 20];
  const c = new Canvas(width, height);
  const hill = Array.from({ length: 100 }, (_, i): Point => {
    const x = MIN_POSITION + ((MAX_POSITION - MIN_POSITION) * i) / 99;
    return [(x - MIN_POSITION) * scale, hillHeight(x) * scale];
  });
  c.lines(hill, BLACK);
  const clearance = 10;
  const angle = Math.cos(3 * position);
  const at = (p: Point): Point => {
    const q = rotate(p, angle);
    return [q[0] + (position - MIN_POSITION) * scale, q[1] + clearance + hillHeight(position) * scale];
  };
  const [l, r, t, b] = [-carWidth / 2, carWidth / 2, carHeight, 0];
  c.polygon(([[l, b], [l, t], [r, t], [r, b]] as Point[]).map(at), BLACK);
  for (const wheel of [[carWidth / 4, 0], [-carWidth / 4, 0]] as Point[]) {
    const [x, y] = at(wheel);
    c.circle(Math.trunc(x), Math.trunc(y), Math.trunc(carHeight / 2.5), [128, 128, 128]);
  }
  const flagX = Math.trunc((goalPosition - MIN_POSITION) * scale);
  const flagY1 = Math.trunc(hillHeight(goalPosition) * scale);
  const flagY2 = flagY1 + 50;
  c.line([flagX, flagY1], [flagX, flagY2], BLACK);
  c.polygon([[flagX, flagY2], [flagX, flagY2 - 10], [flagX + 25, flagY2 - 5]], [204, 204, 0]);
  return c.flipVertical().frame();
}

/** Acrobot-v1, 500 x 500: the bar at the target height, two links and their joints. */
export function renderAcrobot(state: readonly number[]): RgbFrame {
  const size = 500;
  const [len1, len2] = [1, 1];
  const scale = size / ((len1 + len2 + 0.2) * 2);
  const offset = size / 2;
  const c = new Canvas(size, size);
  const [t1, t2] = state;
  const p1: Point = [-len1 * Math.cos(t1) * scale, len1 * Math.sin(t1) * scale];
  const p2: Point = [p1[0] - len2 * Math.cos(t1 + t2) * scale, p1[1] + len2 * Math.sin(t1 + t2) * scale];
  const joints: Point[] = [[0, 0], [p1[1], p1[0]], [p2[1], p2[0]]]; // Gymnasium's xys[:, ::-1]
  const thetas = [t1 - Math.PI / 2, t1 + t2 - Math.PI / 2];
  c.line([-2.2 * scale + offset, 1 * scale + offset], [2.2 * scale + offset, 1 * scale + offset], BLACK);
  for (let k = 0; k < 2; k++) {
    const [x, y] = [joints[k][0] + offset, joints[k][1] + offset];
    const [l, r, t, b] = [0, [len1, len2][k] * scale, 0.1 * scale, -0.1 * scale];
    c.polygon(([[l, b], [l, t], [r, t], [r, b]] as Point[]).map((p) => {
      const q = rotate(p, thetas[k]);
      return [q[0] + x, q[1] + y] as Point;
    }), [0, 204, 204]);
    c.circle(Math.trunc(x), Math.trunc(y), Math.trunc(0.1 * scale), [204, 204, 0]);
  }
  return c.flipVertical().frame();
}

/**
 * Pendulum-v1, 500 x 500: the rod, its ends and the axle. Gymnasium also blits an arrow
 * image sized by the last torque; here that is an arc of 2|u| radians' sweep, drawn as dots.
 */
export function renderPendulum(theta: number, lastU: number | undefined): RgbFrame {
  const size = 500;
  const scale = size / (2.2 * 2);
  const offset = Math.floor(size / 2);
  const rodLength = 1 * scale;
  const rodWidth = 0.2 * scale;
  const red: Rgb = [204, 77, 77];
  const c = new Canvas(size, size);
  const [l, r, t, b] = [0, rodLength, rodWidth / 2, -rodWidth / 2];
  c.polygon(([[l, b], [l, t], [r, t], [r, b]] as Point[]).map((p) => {
    const q = rotate(p, theta + Math.PI / 2);
    return [q[0] + offset, q[1] + offset] as Point;
  }), red);
  c.circle(offset, offset, Math.trunc(rodWidth / 2), red);
  const end = rotate([rodLength, 0], theta + Math.PI / 2);
  c.circle(Math.trunc(end[0] + offset), Math.trunc(end[1] + offset), Math.trunc(rodWidth / 2), red);
  if (lastU !== undefined && lastU !== 0) {
    const radius = 0.35 * scale;
    const sweep = Math.min(Math.abs(lastU), 2) * 1.2;
    for (let k = 0; k <= 24; k++) {
      const a = Math.PI / 2 + Math.sign(lastU) * (sweep * k) / 24;
      c.circle(offset + radius * Math.cos(a), offset + radius * Math.sin(a), 2.5, BLACK);
    }
  }
  c.circle(offset, offset, Math.trunc(0.05 * scale), BLACK);
  return c.flipVertical().frame();
}
