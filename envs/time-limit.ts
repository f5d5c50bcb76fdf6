import type { Action, Env, ResetOptions, ResetResult, StepResult } from './env';
import { Wrapper } from './wrapper';

/**
 * Gymnasium's `TimeLimit`: from step `maxEpisodeSteps` on, `truncated` is true. As in
 * Gymnasium, an env that terminates on that very step reports both flags.
 */
export class TimeLimit extends Wrapper implements Env {
  private elapsed = 0;

  constructor(
    env: Env,
    /** The step from which `truncated` is true. */
    readonly maxEpisodeSteps: number,
  ) {
    super(env);
  }

  /** The wrapped env's observation space. */
  get observationSpace() {
    return this.env.observationSpace;
  }

  reset(opts?: ResetOptions): ResetResult {
    this.elapsed = 0;
    return this.env.reset(opts);
  }

  step(action: Action): StepResult {
    const result = this.env.step(action);
    this.elapsed += 1;
    if (this.elapsed >= this.maxEpisodeSteps) result.truncated = true;
    return result;
  }

  getState(): unknown {
    return this.env.getState ? { elapsed: this.elapsed, env: this.env.getState() } : undefined;
  }

  setState(saved: unknown): void {
    const s = saved as { elapsed: number; env: unknown };
    this.elapsed = s.elapsed;
    this.env.setState?.(s.env);
  }
}
