import type { ActInput, ActResult, Observation, PolicySpec } from '../core/algorithm';
import type { Rng } from '../core/rng';
import type { Space } from '../core/spaces';
import type { VectorEnv, VectorStep } from './vector-env';

/** What the stepper needs of a policy: `SamplingPolicy.act`, or an exported policy wrapped to look like it. */
export interface Actor {
  act(input: ActInput): ActResult;
}

/** What the stepper needs of a policy's spec: its recurrent state and how its Box actions reach the env. */
export type StepperSpec = Pick<PolicySpec, 'state' | 'boxActions'>;

/** A stepper's carried state as plain data. */
export interface StepperState {
  state: Record<string, number[]>;
  episodeStarts: number[];
}

/** One vector step: what the policy saw, what it answered, and what the envs did. */
export interface Stepped {
  /** The observations acted on (the caller may keep them: a fresh array each step). */
  obs: Observation;
  /** The state the policy acted from (zeros where an episode started), per `spec.state` entry. */
  state: Record<string, Float32Array>;
  /** The masks the policy acted under, or null. */
  mask: Uint8Array | null;
  act: ActResult;
  step: VectorStep;
}

/**
 * Steps a vector env with a policy: the one loop behind the rollout worker (local mode and
 * every worker process), `rl evaluate`, videos and the `rl view` page's player. It carries
 * what the policy needs from one step to the next — the observations, a recurrent policy's
 * state (set to zeros where an episode starts), the episode starts and the action masks —
 * and turns the policy's Box actions into the env's (clipped, or squashed and scaled, as the
 * spec says). A feed-forward policy's state is `{}` and costs nothing.
 */
export class Stepper {
  private obs: Observation;
  private state: Record<string, Float32Array>;
  private episodeStarts: Uint8Array;
  private masks: Uint8Array | null;

  constructor(
    readonly envs: VectorEnv,
    private readonly policy: Actor,
    private readonly spec: StepperSpec,
    private readonly rng: Rng,
    private readonly deterministic = false,
  ) {
    const n = envs.numEnvs;
    this.obs = envs.observationSpace.allocate(n * envs.obsSize);
    this.state = Object.fromEntries(spec.state.map((s) => [s.name, new Float32Array(n * s.size)]));
    this.episodeStarts = new Uint8Array(n).fill(1);
    this.masks = null;
  }

  /** Resets every env (env i with `seeds[i]`): every episode starts anew. */
  reset(seeds: number[]): void {
    this.continueFrom(this.envs.reset(seeds));
  }

  /** Takes up envs whose state was restored: `obs` are their current observations; episodes count as starting (the state is not saved). */
  continueFrom(obs: Observation): void {
    this.obs = obs;
    this.masks = this.envs.currentMasks();
    this.episodeStarts.fill(1);
  }

  /** The policy acts on the current observations; the envs step with its actions. `beforeReset` as in `VectorEnv.step`. */
  step(beforeReset?: (env: number) => void): Stepped {
    const n = this.envs.numEnvs;
    for (const s of this.spec.state) {
      const values = this.state[s.name];
      for (let i = 0; i < n; i++) if (this.episodeStarts[i]) values.fill(0, i * s.size, (i + 1) * s.size);
    }
    const obs = this.obs;
    const state = this.state;
    const mask = this.masks;
    const act = this.policy.act({ obs, numEnvs: n, state, episodeStarts: this.episodeStarts, mask, rng: this.rng, deterministic: this.deterministic });
    const step = this.envs.step(envActions(this.envs.actionSpace, act.actions, this.spec.boxActions), beforeReset);
    this.obs = step.obs;
    this.masks = step.masks;
    this.state = this.spec.state.length === 0 ? state : act.state;
    const starts = new Uint8Array(n);
    for (let i = 0; i < n; i++) starts[i] = step.terminated[i] | step.truncated[i];
    this.episodeStarts = starts;
    return { obs, state, mask, act, step };
  }

  /** What carries over between steps besides the envs: a recurrent policy's state and the episode starts (plain data, for a checkpoint). */
  getState(): StepperState {
    return { state: Object.fromEntries(Object.entries(this.state).map(([k, v]) => [k, Array.from(v)])), episodeStarts: Array.from(this.episodeStarts) };
  }

  /** Takes up envs whose state was restored (`obs` their observations) and the policy state `getState` gave. */
  setState(obs: Observation, saved: StepperState): void {
    this.continueFrom(obs);
    for (const s of this.spec.state) {
      const values = saved.state[s.name];
      if (values?.length === this.state[s.name].length) this.state[s.name].set(values);
    }
    if (saved.episodeStarts.length === this.episodeStarts.length) this.episodeStarts.set(saved.episodeStarts);
  }

  /** The observations the next step acts on. */
  get current(): Observation {
    return this.obs;
  }

  /** The masks of the current observations, or null. */
  get currentMasks(): Uint8Array | null {
    return this.masks;
  }
}

/**
 * A policy's actions as the env takes them. Discrete: as they are. Box, `clip`: clipped to
 * the bounds (sampled unbounded, as SB3 does); `squash`: tanh(u) * half + mid, tanh's (-1, 1)
 * mapped onto [low, high] (`squashScale`: a squashed Gaussian's actions).
 */
export function envActions(space: Space, actions: Float32Array, how: StepperSpec['boxActions']): Float32Array {
  if (space.type !== 'Box') return actions;
  if (how === 'clip') return space.clip(actions);
  const { half, mid } = squashScale(space);
  const out = new Float32Array(actions.length);
  for (let i = 0; i < actions.length; i++) out[i] = Math.tanh(actions[i]) * half[i % space.size] + mid[i % space.size];
  return out;
}

/**
 * `squash`'s affine map from tanh's (-1, 1) to a Box's bounds, per dimension: action =
 * tanh(u) * half + mid, half = (high - low) / 2 and mid = (high + low) / 2. The one formula of
 * the runtime (`envActions`) and of every export; in float64, so that tanh = +-1 gives the bound
 * itself (an exported graph holds them as float32).
 */
export function squashScale(a: { low: ArrayLike<number>; high: ArrayLike<number> }): { half: Float64Array; mid: Float64Array } {
  const n = a.low.length;
  return { half: Float64Array.from({ length: n }, (_, i) => (a.high[i] - a.low[i]) / 2), mid: Float64Array.from({ length: n }, (_, i) => (a.high[i] + a.low[i]) / 2) };
}
