import type { Action, Env, ResetOptions, ResetResult, RgbFrame, StepResult } from './env';
import { renderAcrobot } from './render-classic';
import { Box, Discrete } from '../core/spaces';
import { Rng } from '../core/rng';
import { initialState } from './classic-control';

// Gymnasium's Acrobot-v1 (classic_control/acrobot.py), constant for constant.
const DT = 0.2;
const LINK_LENGTH_1 = 1.0;
const LINK_MASS_1 = 1.0;
const LINK_MASS_2 = 1.0;
const LINK_COM_POS_1 = 0.5; // centre of mass of link 1, from the fixed joint
const LINK_COM_POS_2 = 0.5;
const LINK_MOI = 1.0; // moment of inertia of either link
const GRAVITY = 9.8;
const MAX_VEL_1 = 4 * Math.PI;
const MAX_VEL_2 = 9 * Math.PI;
const AVAIL_TORQUE = [-1.0, 0.0, +1];

type State = [number, number, number, number];

/**
 * Two links hanging from a fixed joint, with a torque of -1, 0 or +1 (actions 0, 1, 2) on the
 * joint between them; swing the free end above one link's length over the fixed joint.
 * Reward -1 per step, 0 on the terminating step. Sutton and Barto's "book" dynamics, one RK4
 * step over dt = 0.2 in float64; then the angles are wrapped to [-π, π] and the velocities
 * bounded to ±4π and ±9π. State: [θ1, θ2, θ̇1, θ̇2], θ2 relative to link 1; observation
 * [cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2]. As in Gymnasium, a drawn start state is float32.
 */
export class Acrobot implements Env {
  readonly actionSpace = new Discrete(3);
  readonly observationSpace = new Box([-1, -1, -1, -1, -MAX_VEL_1, -MAX_VEL_2], [1, 1, 1, 1, MAX_VEL_1, MAX_VEL_2], [6]);
  private rng = new Rng(0);
  private state: State = [0, 0, 0, 0];

  reset(opts: ResetOptions = {}): ResetResult {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    const s = initialState(opts, this.rng, 4, 0.1, 'Acrobot-v1');
    this.state = (opts.options?.state === undefined ? s.map(Math.fround) : s) as State;
    return { obs: this.observe(), info: {} };
  }

  step(action: Action): StepResult {
    if (!this.actionSpace.contains(action)) throw new RangeError(`Acrobot-v1: action ${String(action)} is not in Discrete(3)`);
    const torque = AVAIL_TORQUE[action as number];
    const ns = rk4(this.state, torque, DT);
    ns[0] = wrap(ns[0], -Math.PI, Math.PI);
    ns[1] = wrap(ns[1], -Math.PI, Math.PI);
    ns[2] = bound(ns[2], -MAX_VEL_1, MAX_VEL_1);
    ns[3] = bound(ns[3], -MAX_VEL_2, MAX_VEL_2);
    this.state = ns;
    const terminated = -Math.cos(ns[0]) - Math.cos(ns[1] + ns[0]) > 1.0;
    return { obs: this.observe(), reward: terminated ? 0.0 : -1.0, terminated, truncated: false, info: {} };
  }

  close(): void {}

  /** 500 x 500, as Gymnasium draws it. */
  render(): RgbFrame {
    return renderAcrobot(this.state);
  }

  getState(): unknown {
    return { state: [...this.state], rng: this.rng.getState() };
  }

  setState(saved: unknown): void {
    const s = saved as { state: number[]; rng: number[] };
    this.state = [...s.state] as State;
    this.rng.setState(s.rng);
  }

  private observe(): Float32Array {
    const [t1, t2, dt1, dt2] = this.state;
    return Float32Array.of(Math.cos(t1), Math.sin(t1), Math.cos(t2), Math.sin(t2), dt1, dt2);
  }
}

/** The time derivative of the state under torque `a` (Gymnasium's `_dsdt`, book dynamics). */
function dsdt([theta1, theta2, dtheta1, dtheta2]: State, a: number): State {
  const m1 = LINK_MASS_1;
  const m2 = LINK_MASS_2;
  const l1 = LINK_LENGTH_1;
  const lc1 = LINK_COM_POS_1;
  const lc2 = LINK_COM_POS_2;
  const I1 = LINK_MOI;
  const I2 = LINK_MOI;
  const g = GRAVITY;
  const d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * Math.cos(theta2)) + I1 + I2;
  const d2 = m2 * (lc2 ** 2 + l1 * lc2 * Math.cos(theta2)) + I2;
  const phi2 = m2 * lc2 * g * Math.cos(theta1 + theta2 - Math.PI / 2.0);
  const phi1 =
    -m2 * l1 * lc2 * dtheta2 ** 2 * Math.sin(theta2) -
    2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * Math.sin(theta2) +
    (m1 * lc1 + m2 * l1) * g * Math.cos(theta1 - Math.PI / 2) +
    phi2;
  const ddtheta2 = (a + (d2 / d1) * phi1 - m2 * l1 * lc2 * dtheta1 ** 2 * Math.sin(theta2) - phi2) / (m2 * lc2 ** 2 + I2 - d2 ** 2 / d1);
  const ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  return [dtheta1, dtheta2, ddtheta1, ddtheta2];
}

/** One classic Runge-Kutta step of length dt (Gymnasium's `rk4` over the times [0, dt]). */
function rk4(y0: State, a: number, dt: number): State {
  const dt2 = dt / 2.0;
  const along = (k: State, h: number) => y0.map((y, i) => y + h * k[i]) as State;
  const k1 = dsdt(y0, a);
  const k2 = dsdt(along(k1, dt2), a);
  const k3 = dsdt(along(k2, dt2), a);
  const k4 = dsdt(along(k3, dt), a);
  return y0.map((y, i) => y + (dt / 6.0) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i])) as State;
}

/** Wraps x into [m, M] by whole periods (Gymnasium's `wrap`). */
function wrap(x: number, m: number, M: number): number {
  const diff = M - m;
  while (x > M) x -= diff;
  while (x < m) x += diff;
  return x;
}

/** Clips x to [m, M] (Gymnasium's `bound`). */
function bound(x: number, m: number, M: number): number {
  return Math.min(Math.max(x, m), M);
}
