import type { Action, Env, ResetOptions, ResetResult, RgbFrame, StepResult } from './env';
import { renderPendulum } from './render-classic';
import { Box } from '../core/spaces';
import { Rng } from '../core/rng';
import { checkBoxAction, initialStateWithin } from './classic-control';

// Gymnasium's Pendulum-v1 (classic_control/pendulum.py), constant for constant.
const MAX_SPEED = 8;
const MAX_TORQUE = 2.0;
const DT = 0.05;
const G = 10.0;
const M = 1.0;
const L = 1.0;

/**
 * Swing a pendulum up and hold it there with a torque in [-2, 2] (larger torques are clipped).
 * Reward -(θ² + 0.1 θ̇² + 0.001 u²) with θ normalized to [-π, π) and 0 upright, from the state
 * before the step; never terminates (the time limit ends episodes). Semi-implicit Euler in
 * float64: θ̇ is updated and clipped to [-8, 8] first, then θ moves by the new θ̇.
 * State: [θ, θ̇]; θ is not wrapped. Observation: [cos θ, sin θ, θ̇].
 */
export class Pendulum implements Env {
  readonly actionSpace = new Box(-MAX_TORQUE, MAX_TORQUE, [1]);
  readonly observationSpace = new Box([-1, -1, -MAX_SPEED], [1, 1, MAX_SPEED], [3]);
  private rng = new Rng(0);
  private state = [0, 0];
  /** The last step's clipped torque, drawn by render(); undefined after a reset. */
  private lastU: number | undefined;

  reset(opts: ResetOptions = {}): ResetResult {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.state = initialStateWithin(opts, this.rng, [[-Math.PI, Math.PI], [-1, 1]], 'Pendulum-v1');
    this.lastU = undefined;
    return { obs: this.observe(), info: {} };
  }

  step(action: Action): StepResult {
    const a = checkBoxAction(action, this.actionSpace, 'Pendulum-v1')[0];
    const [th, thdot] = this.state;
    const u = Math.min(Math.max(a, -MAX_TORQUE), MAX_TORQUE);
    this.lastU = u;
    const costs = angleNormalize(th) ** 2 + 0.1 * thdot ** 2 + 0.001 * u ** 2;

    let newthdot = thdot + (((3 * G) / (2 * L)) * Math.sin(th) + (3.0 / (M * L ** 2)) * u) * DT;
    newthdot = Math.min(Math.max(newthdot, -MAX_SPEED), MAX_SPEED);
    const newth = th + newthdot * DT;
    this.state = [newth, newthdot];
    return { obs: this.observe(), reward: -costs, terminated: false, truncated: false, info: {} };
  }

  close(): void {}

  /** 500 x 500, as Gymnasium draws it (the torque arrow as an arc). */
  render(): RgbFrame {
    return renderPendulum(this.state[0], this.lastU);
  }

  getState(): unknown {
    return { state: [...this.state], rng: this.rng.getState() };
  }

  setState(saved: unknown): void {
    const s = saved as { state: number[]; rng: number[] };
    this.state = [...s.state];
    this.rng.setState(s.rng);
  }

  private observe(): Float32Array {
    const [th, thdot] = this.state;
    return Float32Array.of(Math.cos(th), Math.sin(th), thdot);
  }
}

/**
 * ((x + π) mod 2π) - π with Python's (and NumPy's) floating modulo, whose result takes the
 * divisor's sign: JavaScript's % takes the dividend's, so a negative remainder is shifted up.
 */
export function angleNormalize(x: number): number {
  const twoPi = 2 * Math.PI;
  let mod = (x + Math.PI) % twoPi;
  if (mod < 0) mod += twoPi;
  return mod - Math.PI;
}
