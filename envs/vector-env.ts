import type { Action, Env } from './env';
import { checkFinite, checkReset, checkStep, envThrew } from './check';
import type { Box, Space } from '../core/spaces';

/**
 * Steps of each env checked against the whole contract before the vector trusts it; after
 * them, every step is still checked for a finite reward and observation (`checkFinite`).
 */
const CHECKED_STEPS = 64;

export interface VectorStep {
  /** Observations after the step, [numEnvs * obsSize]; a finished env's row is already its reset observation. */
  obs: Float32Array;
  rewards: Float32Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  /** For each env that finished on this step, its last observation (to bootstrap a truncation); else null. */
  finalObs: (Float32Array | null)[];
  /** Return and length of each episode that finished on this step. */
  finished: { env: number; return: number; length: number }[];
}

/**
 * N copies of one env stepped together, with auto-reset: an env that terminates or truncates
 * is reset on the same step, and its final observation is handed back in `finalObs`.
 */
export class VectorEnv {
  readonly numEnvs: number;
  readonly observationSpace: Box;
  readonly actionSpace: Space;
  readonly obsSize: number;
  private readonly obs: Float32Array;
  private readonly episodeReturn: Float64Array;
  private readonly episodeLength: Int32Array;
  /** Steps each env has taken since it was made: the `step` of its errors. */
  private readonly stepsTaken: Float64Array;

  constructor(readonly envId: string, readonly envs: Env[]) {
    this.numEnvs = envs.length;
    this.observationSpace = envs[0].observationSpace;
    this.actionSpace = envs[0].actionSpace;
    this.obsSize = this.observationSpace.size;
    this.obs = new Float32Array(this.numEnvs * this.obsSize);
    this.episodeReturn = new Float64Array(this.numEnvs);
    this.episodeLength = new Int32Array(this.numEnvs);
    this.stepsTaken = new Float64Array(this.numEnvs);
  }

  /** Resets every env, env i with seed `seeds[i]`. Returns the observations (a copy). */
  reset(seeds: number[]): Float32Array {
    this.envs.forEach((env, i) => {
      const r = env.reset({ seed: seeds[i] });
      checkReset(this.envId, env, r);
      this.obs.set(r.obs, i * this.obsSize);
    });
    this.episodeReturn.fill(0);
    this.episodeLength.fill(0);
    return this.obs.slice();
  }

  /** Steps env i with `actions[i]` (for a Box action space, row i of a flat array). */
  step(actions: Float32Array | Int32Array): VectorStep {
    const n = this.numEnvs;
    const rewards = new Float32Array(n);
    const terminated = new Uint8Array(n);
    const truncated = new Uint8Array(n);
    const finalObs: (Float32Array | null)[] = new Array(n).fill(null);
    const finished: VectorStep['finished'] = [];
    const discrete = this.actionSpace.type === 'Discrete';
    const actSize = this.actionSpace.size;
    for (let i = 0; i < n; i++) {
      const env = this.envs[i];
      const action: Action = discrete ? actions[i] : Float32Array.from(actions.subarray(i * actSize, (i + 1) * actSize));
      const step = (this.stepsTaken[i] += 1);
      let r;
      try {
        r = env.step(action);
      } catch (err) {
        throw envThrew(this.envId, err, step, action);
      }
      if (step <= CHECKED_STEPS) checkStep(this.envId, env, r, step, action);
      else checkFinite(this.envId, env, r, step, action);
      rewards[i] = r.reward;
      this.episodeReturn[i] += r.reward;
      this.episodeLength[i] += 1;
      if (r.terminated || r.truncated) {
        // A step that both terminates and hits the time limit is a termination: nothing to bootstrap.
        terminated[i] = r.terminated ? 1 : 0;
        truncated[i] = r.terminated ? 0 : 1;
        finalObs[i] = r.obs;
        finished.push({ env: i, return: this.episodeReturn[i], length: this.episodeLength[i] });
        this.episodeReturn[i] = 0;
        this.episodeLength[i] = 0;
        let reset;
        try {
          reset = env.reset();
        } catch (err) {
          throw envThrew(this.envId, err, step, undefined);
        }
        checkReset(this.envId, env, reset, step);
        this.obs.set(reset.obs, i * this.obsSize);
      } else {
        this.obs.set(r.obs, i * this.obsSize);
      }
    }
    return { obs: this.obs.slice(), rewards, terminated, truncated, finalObs, finished };
  }

  close(): void {
    for (const env of this.envs) env.close();
  }

  /** Every env's state and the episode counters; undefined if an env cannot say its state. */
  getState(): unknown {
    const envs = this.envs.map((e) => e.getState?.());
    if (envs.some((s) => s === undefined)) return undefined;
    return {
      envs,
      obs: Array.from(this.obs),
      episodeReturn: Array.from(this.episodeReturn),
      episodeLength: Array.from(this.episodeLength),
      stepsTaken: Array.from(this.stepsTaken),
    };
  }

  /** Restores getState()'s result; returns the current observations. */
  setState(saved: unknown): Float32Array {
    const s = saved as { envs: unknown[]; obs: number[]; episodeReturn: number[]; episodeLength: number[]; stepsTaken: number[] };
    if (s.envs.length !== this.numEnvs) throw new RangeError(`saved state has ${s.envs.length} envs, this vector has ${this.numEnvs}`);
    this.envs.forEach((e, i) => e.setState?.(s.envs[i]));
    this.obs.set(s.obs);
    this.episodeReturn.set(s.episodeReturn);
    this.episodeLength.set(s.episodeLength);
    this.stepsTaken.set(s.stepsTaken);
    return this.obs.slice();
  }
}
