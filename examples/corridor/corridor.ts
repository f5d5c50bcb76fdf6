import { Box, Discrete, Rng, type Env, type ResetOptions, type StepResult } from 'rl-zmq';

/** A 1-D corridor: walk left (0) or right (1); the right end pays +1, each step costs 0.01. */
export class Corridor implements Env {
  readonly actionSpace = new Discrete(2);
  readonly observationSpace: Box;
  private readonly length: number;
  private rng = new Rng(0);
  private position = 0;
  private steps = 0;

  constructor(config: { length?: number } = {}) {
    this.length = config.length ?? 10;
    this.observationSpace = new Box(0, 1, [1]);
  }

  reset(opts: ResetOptions = {}) {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.position = Math.floor(this.length / 2) + this.rng.int(2);
    this.steps = 0;
    return { obs: this.observe(), info: {} };
  }

  step(action: number | Float32Array): StepResult {
    this.position = Math.max(0, this.position + (action === 1 ? 1 : -1));
    this.steps += 1;
    const terminated = this.position >= this.length;
    return { obs: this.observe(), reward: terminated ? 1 : -0.01, terminated, truncated: this.steps >= 50 && !terminated, info: {} };
  }

  close(): void {}

  private observe(): Float32Array {
    return Float32Array.of(Math.min(1, this.position / this.length));
  }
}
