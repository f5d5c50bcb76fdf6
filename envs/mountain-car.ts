import type { Action, Env, ResetOptions, ResetResult, RgbFrame, StepResult } from './env';
import { renderMountainCar } from './render-classic';
import { Box, Discrete } from '../core/spaces';
import { Rng } from '../core/rng';
import { initialStateWithin } from './classic-control';

// Gymnasium's MountainCar-v0 (classic_control/mountain_car.py), constant for constant.
export const MIN_POSITION = -1.2;
export const MAX_POSITION = 0.6;
export const MAX_SPEED = 0.07;
const GOAL_POSITION = 0.5;
const GOAL_VELOCITY = 0;
const FORCE = 0.001;
const GRAVITY = 0.0025;

/**
 * One step of the car, MountainCar's and MountainCarContinuous' alike: the push and gravity
 * change the velocity, clipped to +-0.07; the position moves by it, clipped to the track; the
 * left wall stops the car.
 */
export function moveCar(position: number, velocity: number, push: number): [number, number] {
  velocity += push - GRAVITY * Math.cos(3 * position);
  velocity = Math.min(Math.max(velocity, -MAX_SPEED), MAX_SPEED);
  position += velocity;
  position = Math.min(Math.max(position, MIN_POSITION), MAX_POSITION);
  if (position === MIN_POSITION && velocity < 0) velocity = 0;
  return [position, velocity];
}

/**
 * A car in a valley, too weak to drive straight up the right hill; push left (0), not at all
 * (1) or right (2). Reward -1 on every step; terminated at position >= 0.5 with velocity >= 0.
 * State: [position, velocity] in float64; velocity is clipped to [-0.07, 0.07], then position
 * to [-1.2, 0.6], and the left wall stops the car (velocity 0 there when it was negative).
 */
export class MountainCar implements Env {
  readonly actionSpace = new Discrete(3);
  readonly observationSpace = new Box([MIN_POSITION, -MAX_SPEED], [MAX_POSITION, MAX_SPEED], [2]);
  private rng = new Rng(0);
  private state = [0, 0];

  reset(opts: ResetOptions = {}): ResetResult {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.state = initialStateWithin(opts, this.rng, [[-0.6, -0.4], [0, 0]], 'MountainCar-v0');
    return { obs: Float32Array.from(this.state), info: {} };
  }

  step(action: Action): StepResult {
    if (!this.actionSpace.contains(action)) throw new RangeError(`MountainCar-v0: action ${String(action)} is not in Discrete(3)`);
    let [position, velocity] = this.state;
    [position, velocity] = moveCar(position, velocity, ((action as number) - 1) * FORCE);
    this.state = [position, velocity];

    const terminated = position >= GOAL_POSITION && velocity >= GOAL_VELOCITY;
    return { obs: Float32Array.from(this.state), reward: -1, terminated, truncated: false, info: {} };
  }

  close(): void {}

  /** 600 x 400, as Gymnasium draws it. */
  render(): RgbFrame {
    return renderMountainCar(this.state[0], GOAL_POSITION);
  }

  getState(): unknown {
    return { state: [...this.state], rng: this.rng.getState() };
  }

  setState(saved: unknown): void {
    const s = saved as { state: number[]; rng: number[] };
    this.state = [...s.state];
    this.rng.setState(s.rng);
  }
}
