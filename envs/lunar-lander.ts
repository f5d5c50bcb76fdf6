import { BoxShape, EdgeShape, PolygonShape, RevoluteJoint, World, type Body, type Contact } from 'planck';
import type { Action, Env, ResetOptions, ResetResult, RgbFrame, StepResult } from './env';
import { renderLunarLander, type Particle, type Pose } from './lunar-lander-render';
import { Box, Discrete } from '../core/spaces';
import { Rng } from '../core/rng';
import { checkBoxAction } from './classic-control';

// Gymnasium's LunarLander-v3 (box2d/lunar_lander.py) with discrete or continuous actions and
// no wind, constant for constant. Lengths are in pixels, divided by SCALE to get metres.
const FPS = 50;
const SCALE = 30.0; // pixels per metre
const MAIN_ENGINE_POWER = 13.0;
const SIDE_ENGINE_POWER = 0.6;
const INITIAL_RANDOM = 1000.0; // bound of each component of the force that pushes the lander at the start
const LANDER_POLY: [number, number][] = [[-14, 17], [-17, 0], [-17, -10], [17, -10], [17, 0], [14, 17]];
const LEG_AWAY = 20;
const LEG_DOWN = 18;
const LEG_W = 2; // half-width
const LEG_H = 8; // half-height
const LEG_SPRING_TORQUE = 40;
const SIDE_ENGINE_HEIGHT = 14;
const SIDE_ENGINE_AWAY = 12;
const MAIN_ENGINE_Y_LOCATION = 4; // below the lander's origin
const VIEWPORT_W = 600;
const VIEWPORT_H = 400;
const W = VIEWPORT_W / SCALE; // 20 m
const H = VIEWPORT_H / SCALE; // 13.33 m
const CHUNKS = 11; // terrain points
const HELIPAD_Y = H / 4;
const GRAVITY = -10.0;
const PARTICLE_AREA = Math.PI * (2 / SCALE) ** 2; // an exhaust particle's circle, radius 2 px
const MAIN_FUEL = 0.3; // reward per frame the main engine fires
const SIDE_FUEL = 0.03; // reward per frame a side engine fires

// Collision filtering: the lander and its legs touch only the ground.
const GROUND = 0x0001;
const LANDER = 0x0010;
const LEG = 0x0020;

/** One episode's world: rebuilt on every reset, as Gymnasium v3 does. */
interface Scene {
  world: World;
  ground: { x: number[]; y: number[] };
  lander: Body;
  legs: [Body, Body];
  legContact: [boolean, boolean];
  /** The lander's body (not a leg) has touched the ground. */
  gameOver: boolean;
}

/** What an action fires: the main engine's power (0, or 0.5 to 1), a side engine's (0, or 0.5 to 1), and which side (-1 left, +1 right). */
export interface Engines {
  /** The main engine's power: 0 (off), or 0.5 to 1. */
  main: number;
  /** The firing side engine's power: 0 (off), or 0.5 to 1. */
  side: number;
  /** Which side engine fires: -1 the left, +1 the right, 0 none. */
  direction: number;
}

/**
 * The engines an action fires, as Gymnasium reads an action. Discrete: 2 the main engine at
 * full power, 1 the left and 3 the right side engine at full power, 0 nothing. Continuous
 * [main, lateral], each clipped to [-1, 1]: the main engine fires for main > 0 with power
 * (main + 1) / 2 (it cannot run below half power); a side engine fires for |lateral| > 0.5,
 * the left one for lateral < 0, with power |lateral|.
 */
export function enginesOf(action: number | Float32Array): Engines {
  if (typeof action === 'number') {
    return { main: action === 2 ? 1 : 0, side: action === 1 || action === 3 ? 1 : 0, direction: action === 1 || action === 3 ? action - 2 : 0 };
  }
  const main = Math.min(1, Math.max(-1, action[0]));
  const lateral = Math.min(1, Math.max(-1, action[1]));
  const side = Math.abs(lateral) > 0.5;
  return { main: main > 0 ? (main + 1) * 0.5 : 0, side: side ? Math.abs(lateral) : 0, direction: side ? Math.sign(lateral) : 0 };
}

/** LunarLander's options: `continuous` (Gymnasium's keyword) for the 2-dim Box action of LunarLanderContinuous-v3. */
export interface LunarLanderOptions {
  /** A Box(-1, 1, [2]) action [main, lateral] of throttles (LunarLanderContinuous-v3) instead of Discrete(4); default false. */
  continuous?: boolean;
}

/**
 * Land between the flags at (0, 0). Discrete actions: 0 noop, 1 the left orientation engine
 * (turns the lander counter-clockwise and pushes it left), 2 the main engine, 3 the right
 * orientation engine (clockwise, right). Continuous actions (`continuous: true`,
 * LunarLanderContinuous-v3): Box(-1, 1, [2]), [main, lateral], throttles of the same engines
 * (`enginesOf`), each engine's impulse and fuel cost scaled by its power; the same physics,
 * rewards and terminations. On Box2D's port planck.js, stepped at 50 Hz with Gymnasium's
 * iteration counts. The observation is [x, y, vx, vy, angle, angular velocity, and a contact
 * flag per leg (the first is the leg on the lander's right)], positions relative to the pad
 * and all scaled as Gymnasium does.
 * Reward: the change in shaping (-100 distance, -100 speed, -100 |angle|, +10 per leg on
 * the ground), minus 0.3 per main-engine frame and 0.03 per side-engine frame (times the
 * engine's power, for continuous actions); -100 and the end when the body touches the ground
 * or |x| >= 1; +100 and the end when the lander comes to rest (Box2D puts it to sleep). As in
 * Gymnasium, reset steps once with action 0 (or [0, 0]) and returns that step's observation.
 *
 * Departures: the exhaust particles (decoration: they collide only with the ground, never
 * with the lander) are not Box2D bodies: they are tracked as points, and only once render()
 * has been called, so training pays nothing for them; the engines' dispersion is still drawn, two numbers a step
 * whichever the action, as Gymnasium does. Wind and turbulence (off in v3 by
 * default) are not implemented. planck.js computes in float64
 * where Box2D uses float32, so trajectories differ from Gymnasium's in the digits, not in kind;
 * and the seeded generator is this project's Rng, so seed n is not Gymnasium's seed n.
 *
 * There is no `reset({ options: { state } })` and no getState/setState: the physics state is
 * a Box2D world (contacts, warm-start impulses, sleep timers), not a few numbers. A
 * checkpoint re-seeds this env on resume instead of continuing its episode.
 */
export class LunarLander implements Env {
  readonly actionSpace: Discrete | Box;
  // v3's bounds; |x| >= 1 ends the episode long before these. Observations are clipped to them.
  readonly observationSpace = new Box(
    [-2.5, -2.5, -10, -10, -2 * Math.PI, -10, 0, 0],
    [2.5, 2.5, 10, 10, 2 * Math.PI, 10, 1, 1],
    [8],
  );
  private rng = new Rng(0);
  private scene: Scene | undefined;
  private prevShaping: number | undefined;
  /** The flames' particles; undefined until the first render(). */
  private particles: Particle[] | undefined;
  private readonly id: string;

  constructor(opts: LunarLanderOptions = {}) {
    this.actionSpace = opts.continuous ? new Box(-1, 1, [2]) : new Discrete(4);
    this.id = opts.continuous ? 'LunarLanderContinuous-v3' : 'LunarLander-v3';
  }

  reset(opts: ResetOptions = {}): ResetResult {
    if (opts.options?.state !== undefined) {
      throw new RangeError(`${this.id}: reset options.state is not supported (its state is a Box2D world, not a few numbers)`);
    }
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.scene = buildScene(this.rng);
    this.prevShaping = undefined;
    if (this.particles) this.particles = [];
    return { obs: this.step(this.actionSpace.type === 'Box' ? new Float32Array(2) : 0).obs, info: {} };
  }

  step(action: Action): StepResult {
    const space = this.actionSpace;
    if (space.type === 'Discrete' && !space.contains(action)) throw new RangeError(`LunarLander-v3: action ${String(action)} is not in Discrete(4)`);
    const { main: mPower, side: sPower, direction } = enginesOf(space.type === 'Box' ? checkBoxAction(action, space, this.id) : (action as number));
    if (!this.scene) throw new Error(`${this.id}: call reset() before step()`);
    const { world, lander, legContact } = this.scene;

    // Engines: impulses at points fixed to the lander, jittered by `dispersion`.
    const tip = [Math.sin(lander.getAngle()), Math.cos(lander.getAngle())];
    const side = [-tip[1], tip[0]];
    const dispersion = [this.rng.uniform(-1, 1) / SCALE, this.rng.uniform(-1, 1) / SCALE];
    const pos = lander.getPosition();
    if (mPower > 0) {
      const along = MAIN_ENGINE_Y_LOCATION / SCALE + 2 * dispersion[0];
      const ox = tip[0] * along + side[0] * dispersion[1];
      const oy = -tip[1] * along - side[1] * dispersion[1];
      const at = { x: pos.x + ox, y: pos.y + oy };
      lander.applyLinearImpulse({ x: -ox * MAIN_ENGINE_POWER * mPower, y: -oy * MAIN_ENGINE_POWER * mPower }, at, true);
      this.emit(at, ox * MAIN_ENGINE_POWER * mPower, oy * MAIN_ENGINE_POWER * mPower, 3.5, mPower);
    }
    if (sPower > 0) {
      const across = 3 * dispersion[1] + (direction * SIDE_ENGINE_AWAY) / SCALE;
      const ox = tip[0] * dispersion[0] + side[0] * across;
      const oy = -tip[1] * dispersion[0] - side[1] * across;
      const at = { x: pos.x + ox - (tip[0] * 17) / SCALE, y: pos.y + oy + (tip[1] * SIDE_ENGINE_HEIGHT) / SCALE };
      lander.applyLinearImpulse({ x: -ox * SIDE_ENGINE_POWER * sPower, y: -oy * SIDE_ENGINE_POWER * sPower }, at, true);
      this.emit(at, ox * SIDE_ENGINE_POWER * sPower, oy * SIDE_ENGINE_POWER * sPower, 0.7, sPower);
    }

    world.step(1.0 / FPS, 6 * 30, 2 * 30);
    if (this.particles) this.particles = moveParticles(this.particles, this.scene.ground);

    const p = lander.getPosition();
    const v = lander.getLinearVelocity();
    const state = [
      (p.x - W / 2) / (W / 2),
      (p.y - (HELIPAD_Y + LEG_DOWN / SCALE)) / (H / 2),
      (v.x * (W / 2)) / FPS,
      (v.y * (H / 2)) / FPS,
      lander.getAngle(),
      (20.0 * lander.getAngularVelocity()) / FPS,
      legContact[0] ? 1 : 0,
      legContact[1] ? 1 : 0,
    ];

    const shaping = shapingOf(state);
    let reward = this.prevShaping === undefined ? 0 : shaping - this.prevShaping;
    this.prevShaping = shaping;
    reward -= mPower * MAIN_FUEL + sPower * SIDE_FUEL;

    let terminated = false;
    if (this.scene.gameOver || Math.abs(state[0]) >= 1.0) {
      terminated = true;
      reward = -100;
    }
    if (!lander.isAwake()) {
      terminated = true;
      reward = +100;
    }
    // Clipped to v3's bounds, which Gymnasium's own env leaves (and so breaks its space) when the
    // lander flies far above the screen (y > 2.5) or spins past 2 pi; shaping used the true state.
    return { obs: this.observationSpace.clip(Float32Array.from(state)), reward, terminated, truncated: false, info: {} };
  }

  close(): void {
    this.scene = undefined;
  }

  /** 600 x 400, as Gymnasium draws it; from the first call on, steps also track the flames. */
  render(): RgbFrame {
    this.particles ??= [];
    const s = this.scene ?? buildScene(new Rng(0));
    const pose = (b: Body): Pose => ({ x: b.getPosition().x, y: b.getPosition().y, angle: b.getAngle() });
    const scene = {
      terrain: s.ground,
      helipad: { x1: s.ground.x[Math.floor(CHUNKS / 2) - 1], x2: s.ground.x[Math.floor(CHUNKS / 2) + 1], y: HELIPAD_Y },
      lander: pose(s.lander),
      legs: [pose(s.legs[0]), pose(s.legs[1])] as [Pose, Pose],
      particles: this.particles,
    };
    return renderLunarLander(scene, LANDER_POLY.map(([x, y]) => [x / SCALE, y / SCALE]), [LEG_W / SCALE, LEG_H / SCALE]);
  }

  /** A particle given `impulse` at `at`, as Gymnasium's `_create_particle(mass, x, y, ttl)` and its push. */
  private emit(at: { x: number; y: number }, ix: number, iy: number, density: number, ttl: number): void {
    if (!this.particles) return;
    const mass = density * PARTICLE_AREA;
    this.particles.push({ x: at.x, y: at.y, vx: ix / mass, vy: iy / mass, ttl });
  }
}

/** One 50 Hz step of the particles: gravity, a bounce on the ground (restitution 0.3), fading. */
function moveParticles(particles: Particle[], ground: { x: number[]; y: number[] }): Particle[] {
  const dt = 1 / FPS;
  const out: Particle[] = [];
  for (const p of particles) {
    p.ttl -= 0.15;
    if (p.ttl < 0) continue;
    p.vy += GRAVITY * dt;
    p.x += p.vx * dt;
    p.y += p.vy * dt;
    const i = Math.min(CHUNKS - 2, Math.max(0, Math.floor(p.x / (W / (CHUNKS - 1)))));
    const f = (p.x - ground.x[i]) / (ground.x[i + 1] - ground.x[i]);
    const floor = ground.y[i] + f * (ground.y[i + 1] - ground.y[i]);
    if (p.y < floor) {
      p.y = floor;
      p.vy = -0.3 * p.vy;
    }
    out.push(p);
  }
  return out;
}

/** Gymnasium's shaping potential of an observation; a step's reward is its change. */
export function shapingOf(s: ArrayLike<number>): number {
  return -100 * Math.sqrt(s[0] * s[0] + s[1] * s[1]) - 100 * Math.sqrt(s[2] * s[2] + s[3] * s[3]) - 100 * Math.abs(s[4]) + 10 * s[6] + 10 * s[7];
}

/**
 * The terrain's CHUNKS points: x evenly over the width, y random in [0, H/2) and smoothed by
 * 0.33 * (left + self + right), flat at 0.99 * H/4 across the pad (points 4 to 6, x 8 to 12).
 * Twelve heights are drawn, one more than the points; as in Gymnasium (a Python index of -1),
 * the first point's left neighbour is that twelfth height.
 */
export function terrain(rng: Rng): { x: number[]; y: number[] } {
  const height = Array.from({ length: CHUNKS + 1 }, () => rng.uniform(0, H / 2));
  const mid = Math.floor(CHUNKS / 2);
  for (let k = mid - 2; k <= mid + 2; k++) height[k] = HELIPAD_Y;
  const x = Array.from({ length: CHUNKS }, (_, i) => (W / (CHUNKS - 1)) * i);
  const y = x.map((_, i) => 0.33 * (height[(i - 1 + height.length) % height.length] + height[i] + height[i + 1]));
  return { x, y };
}

/** The moon, the lander with its initial random push, and two sprung legs on revolute joints. */
function buildScene(rng: Rng): Scene {
  const world = new World({ gravity: { x: 0, y: GRAVITY } });

  const ground = terrain(rng);
  const moon = world.createBody();
  moon.createFixture(new EdgeShape({ x: 0, y: 0 }, { x: W, y: 0 }));
  for (let i = 0; i < CHUNKS - 1; i++) {
    const edge = new EdgeShape({ x: ground.x[i], y: ground.y[i] }, { x: ground.x[i + 1], y: ground.y[i + 1] });
    moon.createFixture(edge, { density: 0, friction: 0.1 });
  }

  const initialX = W / 2;
  const initialY = H;
  const lander = world.createDynamicBody({ position: { x: initialX, y: initialY }, angle: 0 });
  lander.createFixture(new PolygonShape(LANDER_POLY.map(([x, y]) => ({ x: x / SCALE, y: y / SCALE }))), {
    density: 5.0,
    friction: 0.1,
    restitution: 0.0,
    filterCategoryBits: LANDER,
    filterMaskBits: GROUND,
  });
  lander.applyForceToCenter({ x: rng.uniform(-INITIAL_RANDOM, INITIAL_RANDOM), y: rng.uniform(-INITIAL_RANDOM, INITIAL_RANDOM) }, true);

  const legs = [-1, +1].map((i) => {
    const leg = world.createDynamicBody({ position: { x: initialX - (i * LEG_AWAY) / SCALE, y: initialY }, angle: i * 0.05 });
    leg.createFixture(new BoxShape(LEG_W / SCALE, LEG_H / SCALE), {
      density: 1.0,
      restitution: 0.0,
      filterCategoryBits: LEG,
      filterMaskBits: GROUND,
    });
    const joint = new RevoluteJoint({
      bodyA: lander,
      bodyB: leg,
      localAnchorA: { x: 0, y: 0 },
      localAnchorB: { x: (i * LEG_AWAY) / SCALE, y: LEG_DOWN / SCALE },
      referenceAngle: i * 0.05, // the leg's start angle, as pybox2d sets it when given both bodies
      enableMotor: true,
      enableLimit: true,
      maxMotorTorque: LEG_SPRING_TORQUE,
      motorSpeed: 0.3 * i, // low enough not to jump back into the sky
      lowerAngle: i === -1 ? 0.9 - 0.5 : -0.9,
      upperAngle: i === -1 ? 0.9 : -0.9 + 0.5,
    });
    world.createJoint(joint);
    return leg;
  }) as [Body, Body];

  const scene: Scene = { world, ground, lander, legs, legContact: [false, false], gameOver: false };
  const touches = (c: Contact, body: Body) => c.getFixtureA().getBody() === body || c.getFixtureB().getBody() === body;
  world.on('begin-contact', (c) => {
    if (touches(c, lander)) scene.gameOver = true;
    for (const k of [0, 1]) if (touches(c, legs[k])) scene.legContact[k] = true;
  });
  world.on('end-contact', (c) => {
    // As in Gymnasium, a leg leaving one terrain edge counts as off the ground even if it still touches the next.
    for (const k of [0, 1]) if (touches(c, legs[k])) scene.legContact[k] = false;
  });
  return scene;
}
