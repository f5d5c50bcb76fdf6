import type { Action, Env, ResetOptions, ResetResult, RgbFrame, StepResult } from './env';
import { renderMountainCar } from './render-classic';
import { Box } from '../core/spaces';
import { Rng } from '../core/rng';
import { checkBoxAction, initialStateWithin } from './classic-control';
import { MAX_POSITION, MAX_SPEED, MIN_POSITION, moveCar } from './mountain-car';

// Gymnasium's MountainCarContinuous-v0 (classic_control/continuous_mountain_car.py); the track
// and gravity are MountainCar's.
const MIN_ACTION = -1.0;
const MAX_ACTION = 1.0;
const GOAL_POSITION = 0.45;
const GOAL_VELOCITY = 0;
const POWER = 0.0015;

/**
 * MountainCar with a continuous push in [-1, 1] (larger actions are clipped for the force).
 * Reward 100 on reaching position >= 0.45 with velocity >= 0, minus 0.1 * action² on every
 * step, where, as in Gymnasium, the action is the one given, before clipping. The physics
 * is MountainCar's; like Gymnasium, the state is stored as float32 after each step.
 */
export class MountainCarContinuous implements Env {
  readonly actionSpace = new Box(MIN_ACTION, MAX_ACTION, [1]);
  readonly observationSpace = new Box([MIN_POSITION, -MAX_SPEED], [MAX_POSITION, MAX_SPEED], [2]);
  private rng = new Rng(0);
  private state = [0, 0];

  reset(opts: ResetOptions = {}): ResetResult {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.state = initialStateWithin(opts, this.rng, [[-0.6, -0.4], [0, 0]], 'MountainCarContinuous-v0');
    return { obs: Float32Array.from(this.state), info: {} };
  }

  step(action: Action): StepResult {
    const a = checkBoxAction(action, this.actionSpace, 'MountainCarContinuous-v0')[0];
    let [position, velocity] = this.state;
    const force = Math.min(Math.max(a, MIN_ACTION), MAX_ACTION);
    [position, velocity] = moveCar(position, velocity, force * POWER);

    const terminated = position >= GOAL_POSITION && velocity >= GOAL_VELOCITY;
    const reward = (terminated ? 100.0 : 0) - a * a * 0.1;
    this.state = [Math.fround(position), Math.fround(velocity)];
    return { obs: Float32Array.from(this.state), reward, terminated, truncated: false, info: {} };
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
