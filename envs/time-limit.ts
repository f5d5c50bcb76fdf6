import type { Action, Env, ResetOptions, ResetResult, RgbFrame, StepResult } from './env';

/**
 * Gymnasium's `TimeLimit`: from step `maxEpisodeSteps` on, `truncated` is true. As in
 * Gymnasium, an env that terminates on that very step reports both flags.
 */
export class TimeLimit implements Env {
  private elapsed = 0;

  constructor(
    /** The env it wraps. */
    readonly env: Env,
    /** The step from which `truncated` is true. */
    readonly maxEpisodeSteps: number,
  ) {}

  /** The wrapped env's observation space. */
  get observationSpace() {
    return this.env.observationSpace;
  }

  /** The wrapped env's action space. */
  get actionSpace() {
    return this.env.actionSpace;
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

  close(): void {
    this.env.close();
  }

  /** The wrapped env's frame; undefined-safe so that `render` stays optional through the wrapper. */
  get render(): (() => RgbFrame) | undefined {
    return this.env.render ? () => this.env.render!() : undefined;
  }

  /** The wrapped env's action mask, if it has one (a wrapper must not hide it). */
  get actionMask(): (() => Uint8Array) | undefined {
    return this.env.actionMask ? () => this.env.actionMask!() : undefined;
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
