import type { RgbFrame } from './env';
import { Canvas, type Point, type Rgb } from './draw';

/** A body's pose: position in metres and angle in radians. */
export interface Pose {
  x: number;
  y: number;
  angle: number;
}

/** An exhaust particle: decoration only, as in Gymnasium (it never touches the lander). */
export interface Particle {
  x: number;
  y: number;
  vx: number;
  vy: number;
  /** Time to live, from the engine's power (<= 1) down to 0 by 0.15 a step. */
  ttl: number;
}

export interface LanderScene {
  terrain: { x: number[]; y: number[] };
  helipad: { x1: number; x2: number; y: number };
  lander: Pose;
  legs: [Pose, Pose];
  particles: readonly Particle[];
}

const SCALE = 30;
const LANDER_FILL: Rgb = [128, 102, 230];
const LANDER_EDGE: Rgb = [77, 77, 128];

const place = (pose: Pose, [x, y]: Point): Point => {
  const c = Math.cos(pose.angle);
  const s = Math.sin(pose.angle);
  return [(pose.x + x * c - y * s) * SCALE, (pose.y + x * s + y * c) * SCALE];
};

/**
 * Gymnasium's LunarLander render, 600 x 400: white ground under a black sky, the engine
 * flames as particles fading from white to red, the lander and its legs, and two flags at the
 * helipad. `hull` is the lander's polygon and `leg` a leg's half-extents, in metres.
 */
export function renderLunarLander(scene: LanderScene, hull: readonly Point[], leg: Point): RgbFrame {
  const c = new Canvas(600, 400);
  const { x, y } = scene.terrain;
  const top = 400 / SCALE;
  for (let i = 0; i + 1 < x.length; i++) {
    c.polygon([[x[i] * SCALE, y[i] * SCALE], [x[i + 1] * SCALE, y[i + 1] * SCALE], [x[i + 1] * SCALE, top * SCALE], [x[i] * SCALE, top * SCALE]], [0, 0, 0]);
  }
  for (const p of scene.particles) {
    const color: Rgb = [255 * Math.min(1, Math.max(0.2, 0.15 + p.ttl)), 255 * Math.max(0.2, 0.5 * p.ttl), 255 * Math.max(0.2, 0.5 * p.ttl)].map(Math.trunc) as unknown as Rgb;
    c.circle(p.x * SCALE, p.y * SCALE, 2, color);
  }
  const [w, h] = leg;
  const box: Point[] = [[-w, -h], [w, -h], [w, h], [-w, h]];
  for (const [pose, shape] of [[scene.lander, hull], [scene.legs[0], box], [scene.legs[1], box]] as const) {
    const path = shape.map((v) => place(pose, v));
    c.polygon(path, LANDER_FILL);
    c.lines(path, LANDER_EDGE, true);
  }
  for (const fx of [scene.helipad.x1, scene.helipad.x2]) {
    const px = fx * SCALE;
    const flagY1 = scene.helipad.y * SCALE;
    const flagY2 = flagY1 + 50;
    c.line([px, flagY1], [px, flagY2], [255, 255, 255]);
    c.polygon([[px, flagY2], [px, flagY2 - 10], [px + 25, flagY2 - 5]], [204, 204, 0]);
  }
  return c.flipVertical().frame();
}
