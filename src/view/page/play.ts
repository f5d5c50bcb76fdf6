import { listEnvs, makeEnv, withClose } from '../../../envs/registry';
import { wrappedEnv } from '../../../envs/wrappers';
import type { Env, RgbFrame } from '../../../envs/env';
import { VectorEnv } from '../../../envs/vector-env';
import { Stepper, type Actor } from '../../../envs/stepper';
import { Rng } from '../../../core/rng';
import { seedStreams } from '../../../core/seed-streams';
import type { CustomEnv, RunInfo } from './app';

/** What `rl export --format js` modules export (src/export/js.ts) that the page uses. */
export interface PolicyModule {
  /** The greedy action; for Discrete actions, the best one `mask` (the env's action mask) allows. */
  act(obs: ArrayLike<number>, mask?: ArrayLike<number>): number | number[];
  /** A recurrent policy's state entries (src/export/js-recurrent.ts); absent for a feed-forward one. */
  state?: { name: string; size: number }[];
  /** A recurrent policy's module: zeroes the state its own act() carries. */
  reset?(): void;
  /** A recurrent policy's step from the state in hand: the action and the next state. */
  step?(obs: ArrayLike<number>, state: Record<string, Float32Array>, mask?: ArrayLike<number>): { action: number | number[]; state: Record<string, Float32Array> };
}

export interface PlayState {
  steps: number;
  return: number;
  done: boolean;
  status: string;
}

export interface Playback {
  stop(): void;
}

/**
 * The run's env, as the CLI's createEnv builds it: a registered id, or the bundled module's
 * export, inside the observation wrappers of `env.config.wrappers`.
 */
export function createEnv(info: RunInfo, custom: CustomEnv): Env {
  const id = info.envId ?? '';
  return wrappedEnv(id, info.envConfig, (own) => {
    if (listEnvs().some((s) => s.id === id)) return makeEnv(id, own);
    if (custom.module) {
      const name = custom.exportName ?? 'default';
      if (listEnvs().some((s) => s.id === name)) return makeEnv(name, own);
      const exported = custom.module[name] as ((config: Record<string, unknown>) => Env) | (new (config: Record<string, unknown>) => Env) | undefined;
      if (typeof exported !== 'function') throw new Error(`the env module has no export "${name}"`);
      const isClass = /^class\b/.test(Function.prototype.toString.call(exported)) || typeof (exported.prototype as { step?: unknown } | undefined)?.step === 'function';
      return withClose(isClass ? new (exported as new (c: Record<string, unknown>) => Env)(own) : (exported as (c: Record<string, unknown>) => Env)(own));
    }
    throw new Error(`env ${id} is neither built in nor bundled into the page`);
  });
}

/** Copies an RGB frame onto the canvas (RGBA, alpha 255), resizing the canvas to it. */
export function draw(canvas: HTMLCanvasElement, frame: RgbFrame): void {
  if (canvas.width !== frame.width || canvas.height !== frame.height) [canvas.width, canvas.height] = [frame.width, frame.height];
  const ctx = canvas.getContext('2d')!;
  const image = ctx.createImageData(frame.width, frame.height);
  const n = frame.width * frame.height;
  for (let i = 0; i < n; i++) {
    image.data[i * 4] = frame.data[i * 3];
    image.data[i * 4 + 1] = frame.data[i * 3 + 1];
    image.data[i * 4 + 2] = frame.data[i * 3 + 2];
    image.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

/**
 * One episode in the page: the env (plain TypeScript, bundled) stepped by the checkpoint's
 * exported greedy policy (`/api/policy/NAME.js`), each frame drawn on the canvas; seed N is
 * the episode `rl evaluate --seed N --episodes 1` plays. At speed 1
 * it plays at the env's render fps, at 4 four times as fast; at 'max' it steps for ~15 ms
 * between frames drawn.
 */
export function play(opts: {
  info: RunInfo;
  custom: CustomEnv;
  checkpoint: string;
  seed: number;
  speed: number | 'max';
  canvas: HTMLCanvasElement;
  show: (s: PlayState) => void;
}): Playback {
  let stopped = false;
  const state: PlayState = { steps: 0, return: 0, done: false, status: `loading ${opts.checkpoint}…` };
  opts.show(state);
  const run = async () => {
    const policy = (await import(`/api/policy/${opts.checkpoint}.js`)) as PolicyModule;
    const env = createEnv(opts.info, opts.custom);
    if (typeof env.render !== 'function') throw new Error(`env ${opts.info.envId} has no render(): nothing to draw`);
    // The same stepper as rl evaluate's: the exported policy's greedy action (already as the env takes it) is one
    // step's, the best legal one when the env gives action masks (one env: the mask is its row). A recurrent
    // policy steps from the state the stepper carries (zeros where an episode starts).
    const stepFrom = policy.step;
    const actor: Actor = {
      act: ({ obs, mask, state }) => {
        if (!stepFrom) return { actions: Float32Array.from([mask ? policy.act(obs, mask) : policy.act(obs)].flat()), columns: {}, state: {} };
        const r = mask ? stepFrom(obs, state, mask) : stepFrom(obs, state);
        return { actions: Float32Array.from([r.action].flat()), columns: {}, state: r.state };
      },
    };
    // Seed N plays the episode `rl evaluate --seed N --episodes 1` plays (and records with --video): its seeds are the evaluation's.
    const seeds = seedStreams(opts.seed).evaluation(0);
    const stepper = new Stepper(new VectorEnv(opts.info.envId ?? 'env', [env]), actor, { state: policy.state ?? [], boxActions: 'clip' }, new Rng(seeds.actions));
    stepper.reset([seeds.env(0)]);
    draw(opts.canvas, env.render());
    state.status = `playing ${opts.checkpoint}, greedy actions, seed ${opts.seed}`;
    opts.show(state);
    const interval = 1000 / opts.info.renderFps;
    let last: RgbFrame | undefined; // the episode's last frame, drawn before the env resets
    const step = (): boolean => {
      const { step: r } = stepper.step(() => (last = env.render!()));
      state.steps += 1;
      state.return += r.rewards[0];
      if (r.terminated[0] || r.truncated[0]) {
        state.done = true;
        state.status = `episode over after ${state.steps} steps (${r.terminated[0] ? 'terminated' : 'truncated'}): return ${+state.return.toFixed(2)}`;
      }
      return state.done;
    };
    while (!stopped && !state.done) {
      const t0 = performance.now();
      if (opts.speed === 'max') {
        while (performance.now() - t0 < 15 && !step());
      } else {
        for (let k = 0; k < opts.speed && !step(); k++);
      }
      draw(opts.canvas, state.done && last ? last : env.render());
      opts.show(state);
      await new Promise((r) => setTimeout(r, opts.speed === 'max' ? 0 : Math.max(0, interval - (performance.now() - t0))));
    }
    if (stopped && !state.done) {
      state.status = `stopped after ${state.steps} steps`;
      opts.show(state);
    }
    env.close();
  };
  run().catch((err: unknown) => {
    state.status = `error: ${(err as Error).message}`;
    opts.show(state);
  });
  return { stop: () => (stopped = true) };
}
