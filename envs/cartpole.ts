import type { Action, Env, ResetOptions, ResetResult, RgbFrame, StepResult } from './env';
import { renderCartPole } from './render-classic';
import { Box, Discrete } from '../core/spaces';
import { Rng } from '../core/rng';
import { initialState } from './classic-control';

// Gymnasium's CartPole-v1 (classic_control/cartpole.py), constant for constant.
const GRAVITY = 9.8;
const MASS_CART = 1.0;
const MASS_POLE = 0.1;
const TOTAL_MASS = MASS_POLE + MASS_CART;
const LENGTH = 0.5; // half the pole's length
const POLE_MASS_LENGTH = MASS_POLE * LENGTH;
const FORCE_MAG = 10.0;
const TAU = 0.02; // seconds between state updates
const THETA_THRESHOLD = (12 * 2 * Math.PI) / 360;
const X_THRESHOLD = 2.4;

/**
 * A pole on a cart; push left (0) or right (1). Reward 1 on every step, the terminating one
 * included; terminated when the pole leans past 12 degrees or the cart leaves [-2.4, 2.4].
 * State: [x, xDot, theta, thetaDot], integrated with explicit Euler in float64.
 */
export class CartPole implements Env {
  readonly actionSpace = new Discrete(2);
  readonly observationSpace = new Box(
    [-X_THRESHOLD * 2, -Infinity, -THETA_THRESHOLD * 2, -Infinity],
    [X_THRESHOLD * 2, Infinity, THETA_THRESHOLD * 2, Infinity],
    [4],
  );
  private rng = new Rng(0);
  private state = [0, 0, 0, 0];
  private stepsBeyondTerminated: number | undefined;

  reset(opts: ResetOptions = {}): ResetResult {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.state = initialState(opts, this.rng, 4, 0.05, 'CartPole-v1');
    this.stepsBeyondTerminated = undefined;
    return { obs: Float32Array.from(this.state), info: {} };
  }

  step(action: Action): StepResult {
    if (!this.actionSpace.contains(action)) throw new RangeError(`CartPole-v1: action ${String(action)} is not in ${this.actionSpace}`);
    let [x, xDot, theta, thetaDot] = this.state;
    const force = action === 1 ? FORCE_MAG : -FORCE_MAG;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    const temp = (force + POLE_MASS_LENGTH * thetaDot * thetaDot * sin) / TOTAL_MASS;
    const thetaAcc = (GRAVITY * sin - cos * temp) / (LENGTH * (4.0 / 3.0 - (MASS_POLE * cos * cos) / TOTAL_MASS));
    const xAcc = temp - (POLE_MASS_LENGTH * thetaAcc * cos) / TOTAL_MASS;
    x += TAU * xDot;
    xDot += TAU * xAcc;
    theta += TAU * thetaDot;
    thetaDot += TAU * thetaAcc;
    this.state = [x, xDot, theta, thetaDot];

    const terminated = x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD || theta > THETA_THRESHOLD;
    let reward = 1;
    if (terminated) {
      // Stepping on after termination is the caller's bug; Gymnasium rewards it 0.
      if (this.stepsBeyondTerminated === undefined) {
        this.stepsBeyondTerminated = 0;
      } else {
        reward = 0;
        this.stepsBeyondTerminated += 1;
      }
    }
    return { obs: Float32Array.from(this.state), reward, terminated, truncated: false, info: {} };
  }

  close(): void {}

  /** 600 x 400, as Gymnasium draws it. */
  render(): RgbFrame {
    return renderCartPole(this.state);
  }

  getState(): unknown {
    return { state: [...this.state], rng: this.rng.getState(), stepsBeyondTerminated: this.stepsBeyondTerminated ?? null };
  }

  setState(saved: unknown): void {
    const s = saved as { state: number[]; rng: number[]; stepsBeyondTerminated: number | null };
    this.state = [...s.state];
    this.rng.setState(s.rng);
    this.stepsBeyondTerminated = s.stepsBeyondTerminated ?? undefined;
  }
}
