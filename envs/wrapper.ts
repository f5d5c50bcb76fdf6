import type { Env, RgbFrame } from './env';

/** What every wrapper passes through from the env it wraps unless it says otherwise: actions, close, frames and action masks. */
export abstract class Wrapper {
  constructor(
    /** The env it wraps. */
    readonly env: Env,
  ) {}

  get actionSpace() {
    return this.env.actionSpace;
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
}
