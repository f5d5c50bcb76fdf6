import type { Action, Env } from './env';
import { checkFinite, checkReset, checkStep, envThrew, maskViolation } from './check';
import type { Observation } from '../core/algorithm';
import type { Box, Space } from '../core/spaces';
import { EnvError } from '../core/errors';

/**
 * Steps of each env checked against the whole contract before the vector trusts it; after
 * them, every step is still checked for a finite reward and observation (`checkFinite`).
 */
const CHECKED_STEPS = 64;

/** What `VectorEnv.step` returns: every env's step, as columns. */
export interface VectorStep {
  /** Observations after the step, [numEnvs * obsSize]; a finished env's row is already its reset observation. */
  obs: Observation;
  /** Each env's reward: [numEnvs]. */
  rewards: Float32Array;
  /** 1 where the episode reached a terminal state: [numEnvs]. */
  terminated: Uint8Array;
  /** 1 where the episode was cut short (a time limit): [numEnvs]. */
  truncated: Uint8Array;
  /** For each env that finished on this step, its last observation (to bootstrap a truncation); else null. */
  finalObs: (Observation | null)[];
  /** With masks: [numEnvs * n], the legal actions of `obs` (a finished env's: of its reset observation); else null. */
  masks: Uint8Array | null;
  /** With masks, for each env whose episode was truncated on this step, the mask of its last observation; else null. */
  finalMasks: (Uint8Array | null)[];
  /** Each env's `info` of this step (a finished env's: its last step's, before the reset). */
  infos: Record<string, unknown>[];
  /** Return and length of each episode that finished on this step. */
  finished: {
    /** The env's index. */
    env: number;
    /** The episode's sum of rewards. */
    return: number;
    /** The episode's steps. */
    length: number;
  }[];
}

/**
 * N copies of one env stepped together, with auto-reset: an env that terminates or truncates
 * is reset on the same step, and its final observation is handed back in `finalObs`.
 */
export class VectorEnv {
  /** Envs stepped together. */
  readonly numEnvs: number;
  /** The envs' observation space. */
  readonly observationSpace: Box;
  /** The envs' action space. */
  readonly actionSpace: Space;
  /** Numbers per observation. */
  readonly obsSize: number;
  /** The envs give action masks (`Env.actionMask`), n bytes each for Discrete(n). */
  readonly hasMasks: boolean;
  private readonly obs: Observation;
  private readonly masks: Uint8Array | null;
  private readonly episodeReturn: Float64Array;
  private readonly episodeLength: Int32Array;
  /** Steps each env has taken since it was made: the `step` of its errors. */
  private readonly stepsTaken: Float64Array;

  constructor(
    /** The envs' id, for error messages. */
    readonly envId: string,
    /** The envs, one per slot, all of one kind. */
    readonly envs: Env[],
  ) {
    this.numEnvs = envs.length;
    this.observationSpace = envs[0].observationSpace;
    this.actionSpace = envs[0].actionSpace;
    this.obsSize = this.observationSpace.size;
    this.obs = this.observationSpace.allocate(this.numEnvs * this.obsSize);
    this.hasMasks = typeof envs[0].actionMask === 'function';
    if (this.hasMasks && this.actionSpace.type !== 'Discrete') throw new EnvError(`env ${envId}: actionMask() needs a Discrete action space, not ${this.actionSpace}`);
    this.masks = this.hasMasks ? new Uint8Array(this.numEnvs * this.numActions) : null;
    this.episodeReturn = new Float64Array(this.numEnvs);
    this.episodeLength = new Int32Array(this.numEnvs);
    this.stepsTaken = new Float64Array(this.numEnvs);
  }

  /** Resets every env, env i with seed `seeds[i]`. Returns the observations (a copy). */
  reset(seeds: number[]): Observation {
    this.envs.forEach((env, i) => {
      const r = env.reset({ seed: seeds[i] });
      checkReset(this.envId, env, r);
      this.obs.set(r.obs, i * this.obsSize);
      this.readMask(i, 0);
    });
    this.episodeReturn.fill(0);
    this.episodeLength.fill(0);
    return this.obs.slice();
  }

  /** The legal actions of the current observations, [numEnvs * n] (a copy); null for envs without masks. */
  currentMasks(): Uint8Array | null {
    return this.masks ? this.masks.slice() : null;
  }

  /** Discrete(n)'s n (the width of a mask row); 0 for a Box. */
  private get numActions(): number {
    return this.actionSpace.type === 'Discrete' ? this.actionSpace.n : 0;
  }

  /** Env i's mask of its current state into row i, checked: n bytes of 0 or 1, at least one legal action. */
  private readMask(i: number, step: number): Uint8Array | null {
    if (!this.masks) return null;
    const n = this.numActions;
    const m = this.envs[i].actionMask!();
    const bad = maskViolation(m, n);
    if (bad) throw new EnvError(`env ${this.envId}: ${step === 0 ? 'after reset' : `after step ${step}`}: actionMask() ${bad}`, { step, field: 'actionMask' });
    this.masks.set(m, i * n);
    return m;
  }

  /**
   * Steps env i with `actions[i]` (for a Box action space, row i of a flat array).
   * `beforeReset(i)`, if given, runs when env i has finished an episode, before it is reset
   * (a video draws the last frame there). With masks, an illegal action is an error of the policy.
   */
  step(actions: Float32Array | Int32Array, beforeReset?: (env: number) => void): VectorStep {
    const n = this.numEnvs;
    const rewards = new Float32Array(n);
    const terminated = new Uint8Array(n);
    const truncated = new Uint8Array(n);
    const finalObs: (Observation | null)[] = new Array(n).fill(null);
    const finalMasks: (Uint8Array | null)[] = new Array(n).fill(null);
    const infos: Record<string, unknown>[] = new Array(n);
    const finished: VectorStep['finished'] = [];
    const discrete = this.actionSpace.type === 'Discrete';
    const actSize = this.actionSpace.size;
    for (let i = 0; i < n; i++) {
      const env = this.envs[i];
      const action: Action = discrete ? actions[i] : Float32Array.from(actions.subarray(i * actSize, (i + 1) * actSize));
      if (this.masks && this.masks[i * this.numActions + (action as number)] !== 1) {
        const row = Array.from(this.masks.subarray(i * this.numActions, (i + 1) * this.numActions)).join('');
        throw new EnvError(`env ${this.envId}: step ${this.stepsTaken[i] + 1}: action ${action as number} is illegal in this state (actionMask ${row}); the policy must pick a legal action`, { step: this.stepsTaken[i] + 1, field: 'action' });
      }
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
      infos[i] = r.info;
      this.episodeReturn[i] += r.reward;
      this.episodeLength[i] += 1;
      if (r.terminated || r.truncated) {
        // A step that both terminates and hits the time limit is a termination: nothing to bootstrap.
        terminated[i] = r.terminated ? 1 : 0;
        truncated[i] = r.terminated ? 0 : 1;
        finalObs[i] = r.obs;
        // A truncated episode's last state is one the learner bootstraps from: its mask matters. A terminal
        // state's does not (a game over may leave no legal action), so it is not asked for.
        if (this.masks && truncated[i]) finalMasks[i] = this.readMask(i, step)!.slice();
        finished.push({ env: i, return: this.episodeReturn[i], length: this.episodeLength[i] });
        this.episodeReturn[i] = 0;
        this.episodeLength[i] = 0;
        beforeReset?.(i);
        let reset;
        try {
          reset = env.reset();
        } catch (err) {
          throw envThrew(this.envId, err, step, undefined);
        }
        checkReset(this.envId, env, reset, step);
        this.obs.set(reset.obs, i * this.obsSize);
        this.readMask(i, step);
      } else {
        this.obs.set(r.obs, i * this.obsSize);
        this.readMask(i, step);
      }
    }
    return { obs: this.obs.slice(), rewards, terminated, truncated, finalObs, masks: this.currentMasks(), finalMasks, infos, finished };
  }

  /** Closes every env. */
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
  setState(saved: unknown): Observation {
    const s = saved as { envs: unknown[]; obs: number[]; episodeReturn: number[]; episodeLength: number[]; stepsTaken: number[] };
    if (s.envs.length !== this.numEnvs) throw new RangeError(`saved state has ${s.envs.length} envs, this vector has ${this.numEnvs}`);
    this.envs.forEach((e, i) => e.setState?.(s.envs[i]));
    this.obs.set(s.obs);
    this.episodeReturn.set(s.episodeReturn);
    this.episodeLength.set(s.episodeLength);
    this.stepsTaken.set(s.stepsTaken);
    this.envs.forEach((_, i) => this.readMask(i, s.stepsTaken[i]));
    return this.obs.slice();
  }
}

