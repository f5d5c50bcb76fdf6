import { EnvError } from '../core/errors';
import { Box } from '../core/spaces';
import type { Observation } from '../core/algorithm';
import type { Action, Env, ResetOptions, ResetResult, StepResult } from './env';
import { Wrapper } from './wrapper';

/**
 * Observation wrappers for pictures, named in a config's env section:
 *
 *   env: { id: ..., config: { ..., wrappers: [{ grayscale: true, resize: [84, 84] }, { frameStack: 4 }] } }
 *
 * applied in order, the first to the env itself. Both keep uint8 pictures uint8.
 */
export type WrapperSpec = { frameStack: number } | { grayscale?: boolean; resize?: [number, number] };

/**
 * The env a config's env section describes: `build` gets `config` less its key `wrappers`
 * (the env's own keys), and the observation wrappers `wrappers` lists go around what it
 * builds. An EnvError names `envId` and the wrapper's problem (the env is closed first).
 */
export function wrappedEnv(envId: string, config: Record<string, unknown>, build: (own: Record<string, unknown>) => Env): Env {
  const { wrappers, ...own } = config;
  const env = build(own);
  if (wrappers === undefined) return env;
  try {
    return wrapEnv(env, wrappers);
  } catch (err) {
    env.close();
    throw new EnvError(`env ${envId}: config.${(err as Error).message}`);
  }
}

/** The env wrapped by `specs`, in order; a RangeError names the wrapper, the key, the value and the rule. */
export function wrapEnv(env: Env, specs: unknown): Env {
  if (!Array.isArray(specs)) throw new RangeError(`wrappers must be a list, got ${JSON.stringify(specs)}`);
  return specs.reduce((e: Env, spec: unknown, i: number) => {
    const where = `wrappers[${i}]`;
    if (typeof spec !== 'object' || spec === null) throw new RangeError(`${where} must be { frameStack: k } or { grayscale, resize }, got ${JSON.stringify(spec)}`);
    const keys = Object.keys(spec);
    const s = spec as Record<string, unknown>;
    if ('frameStack' in s) {
      if (keys.length !== 1) throw new RangeError(`${where}: frameStack takes no other keys, got ${keys.join(', ')}`);
      const k = s.frameStack;
      if (!Number.isInteger(k) || (k as number) < 1 || (k as number) > 64) throw new RangeError(`${where}.frameStack (${JSON.stringify(k)}) must be a whole number from 1 to 64`);
      return new FrameStack(e, k as number);
    }
    const unknown = keys.filter((key) => key !== 'grayscale' && key !== 'resize');
    if (unknown.length > 0 || keys.length === 0) throw new RangeError(`${where}: unknown key ${unknown[0] ?? '(none)'}; a wrapper is { frameStack: k } or { grayscale: true, resize: [h, w] }`);
    if (s.grayscale !== undefined && typeof s.grayscale !== 'boolean') throw new RangeError(`${where}.grayscale (${JSON.stringify(s.grayscale)}) must be true or false`);
    const r = s.resize;
    if (r !== undefined && !(Array.isArray(r) && r.length === 2 && r.every((d) => Number.isInteger(d) && d >= 1 && d <= 4096))) {
      throw new RangeError(`${where}.resize (${JSON.stringify(r)}) must be [height, width], whole numbers from 1 to 4096`);
    }
    return new GrayscaleResize(e, s.grayscale === true, r as [number, number] | undefined);
  }, env);
}

/**
 * The legal actions of a state, as a mask function sees it: the latest observation (after
 * `reset` or `step`) and the wrapped env itself (for its own state). n numbers for Discrete(n),
 * 1 (or true) for a legal action.
 */
export type ActionMaskFn<E extends Env = Env> = (obs: Observation, env: E) => ArrayLike<number | boolean>;

/**
 * Gives an env of yours action masks without changing it, as sb3-contrib's `ActionMasker`
 * does: `new ActionMasker(new MyEnv(), (obs, env) => legalMoves)`. The function runs after
 * each reset and step (when the runtime asks `actionMask()`), on the latest observation and
 * the env; what it returns becomes the env's mask (checked as any env's is: n bytes of 0 or 1,
 * at least one legal action). It replaces a mask the env already has. Discrete action spaces
 * only. A function is code, so there is no `env.config.wrappers` form of it: apply it where
 * your env is built (the factory a module env exports, or `registerEnv`).
 */
export class ActionMasker<E extends Env = Env> extends Wrapper implements Env {
  private last: Observation | null = null;

  constructor(
    env: E,
    /** The mask of the latest observation and the env's state. */
    readonly maskFn: ActionMaskFn<E>,
  ) {
    super(env);
    if (env.actionSpace.type !== 'Discrete') throw new RangeError(`ActionMasker: action masks need a Discrete action space, the env's is ${env.actionSpace}`);
  }

  /** The wrapped env's observation space. */
  get observationSpace(): Box {
    return this.env.observationSpace;
  }

  /** The mask `maskFn` gives of the latest observation. */
  override get actionMask(): () => Uint8Array {
    return () => {
      if (!this.last) throw new RangeError('ActionMasker: actionMask() before the first reset()');
      return Uint8Array.from(this.maskFn(this.last, this.env as E), (v) => (v === true ? 1 : v === false ? 0 : Number(v)));
    };
  }

  reset(opts?: ResetOptions): ResetResult {
    const r = this.env.reset(opts);
    this.last = r.obs;
    return r;
  }

  step(action: Action): StepResult {
    const r = this.env.step(action);
    this.last = r.obs;
    return r;
  }

  getState(): unknown {
    return this.env.getState ? { env: this.env.getState(), last: this.last && Array.from(this.last) } : undefined;
  }

  setState(saved: unknown): void {
    const s = saved as { env: unknown; last: number[] | null };
    this.env.setState?.(s.env);
    this.last = s.last && this.observationSpace.allocate(s.last.length);
    this.last?.set(s.last!);
  }
}

/** A wrapper that changes observations only. */
abstract class ObservationWrapper extends Wrapper implements Env {
  abstract readonly observationSpace: Box;

  protected abstract observe(obs: Observation, first: boolean): Observation;

  reset(opts?: ResetOptions): ResetResult {
    const r = this.env.reset(opts);
    return { ...r, obs: this.observe(r.obs, true) };
  }

  step(action: Action): StepResult {
    const r = this.env.step(action);
    return { ...r, obs: this.observe(r.obs, false) };
  }
}

/**
 * Hides some of a vector observation's entries by zeroing them, as the SB3 zoo's
 * `MaskVelocityWrapper` does (the observation space is unchanged): `CartPoleNoVel-v1` and
 * `PendulumNoVel-v1` hide the velocities, so that only a policy with memory can act well.
 */
export class MaskObservation extends ObservationWrapper {
  /** The wrapped env's space, unchanged (hidden entries read 0). */
  readonly observationSpace: Box;

  constructor(
    env: Env,
    /** The entries zeroed in every observation. */
    readonly hidden: number[],
  ) {
    super(env);
    this.observationSpace = env.observationSpace;
    for (const i of hidden) if (!Number.isInteger(i) || i < 0 || i >= env.observationSpace.size) throw new RangeError(`MaskObservation: entry ${i} is not one of the observation's ${env.observationSpace.size}`);
  }

  protected observe(obs: Observation): Observation {
    const out = obs.slice();
    for (const i of this.hidden) out[i] = 0;
    return out;
  }

  /** The wrapped env's state (the wrapper keeps none). */
  getState(): unknown {
    return this.env.getState?.();
  }

  /** Restores the wrapped env's state. */
  setState(saved: unknown): void {
    this.env.setState?.(saved);
  }
}

/**
 * Gymnasium's `FrameStackObservation`, along the channel axis: an (h, w, c) observation becomes
 * (h, w, c * k), the k latest frames oldest first, each pixel's channels frame by frame (as
 * Atari DQN stacks its four frames); an (n) vector becomes (k * n), the k vectors oldest first
 * (Gymnasium's (k, n), flattened). After a reset the history is the first frame k times
 * (Gymnasium's default padding, "reset"), not zeros: a zero frame is a real screen in many
 * games (an empty MinAtar board), so zero padding would show the policy motion that never
 * happened; repeated first frames show none.
 */
export class FrameStack extends ObservationWrapper {
  readonly observationSpace: Box;
  private readonly frames: Observation[] = [];
  private readonly c: number;
  private readonly pixels: number;

  constructor(env: Env, readonly k: number) {
    super(env);
    const inner = env.observationSpace;
    if (inner.shape.length !== 3 && inner.shape.length !== 1) throw new RangeError(`frameStack: the env's observations are Box(${inner.shape.join(', ')}); it stacks (h, w, c) pictures or (n) vectors`);
    // A vector is one pixel whose channels are its n numbers.
    const shape = inner.shape.length === 3 ? inner.shape : [1, 1, inner.shape[0]];
    this.c = shape[2];
    this.pixels = inner.size / this.c;
    const low = new Float32Array(inner.size * k);
    const high = new Float32Array(inner.size * k);
    for (let p = 0; p < this.pixels; p++) {
      for (let f = 0; f < k; f++) {
        low.set(inner.low.subarray(p * this.c, (p + 1) * this.c), (p * k + f) * this.c);
        high.set(inner.high.subarray(p * this.c, (p + 1) * this.c), (p * k + f) * this.c);
      }
    }
    this.observationSpace = new Box(low, high, inner.shape.length === 3 ? [shape[0], shape[1], this.c * k] : [this.c * k], inner.dtype);
  }

  protected observe(obs: Observation, first: boolean): Observation {
    if (first) this.frames.splice(0, this.frames.length, ...Array.from({ length: this.k }, () => obs.slice()));
    else {
      this.frames.push(obs.slice());
      this.frames.shift();
    }
    const c = this.c;
    const out = this.observationSpace.allocate(this.observationSpace.size);
    for (let p = 0; p < this.pixels; p++) {
      for (let f = 0; f < this.k; f++) out.set(this.frames[f].subarray(p * c, (p + 1) * c), (p * this.k + f) * c);
    }
    return out;
  }

  getState(): unknown {
    return this.env.getState ? { env: this.env.getState(), frames: this.frames.map((f) => Array.from(f)) } : undefined;
  }

  setState(saved: unknown): void {
    const s = saved as { env: unknown; frames: number[][] };
    this.env.setState?.(s.env);
    this.frames.length = 0;
    for (const f of s.frames) this.frames.push(this.env.observationSpace.dtype === 'uint8' ? Uint8Array.from(f) : Float32Array.from(f));
  }
}

/**
 * Gymnasium's `GrayscaleObservation` and `ResizeObservation` for uint8 RGB pictures (h, w, 3),
 * as Atari preprocessing does them: luma 0.299 R + 0.587 G + 0.114 B (ITU-R 601, OpenCV's
 * RGB2GRAY), then an area resize (each output pixel the mean of the input area it covers,
 * partial pixels by their covered fraction: OpenCV's INTER_AREA, which Atari preprocessing
 * uses, because bilinear sampling skips pixels when shrinking and small objects vanish or
 * flicker). Rounded to the nearest uint8. Grayscale alone gives (h, w, 1); resize alone keeps the channels.
 * The bounds are the picture's lowest low and highest high, one pair for every pixel.
 */
export class GrayscaleResize extends ObservationWrapper {
  readonly observationSpace: Box;
  private readonly inShape: [number, number, number];

  constructor(env: Env, readonly grayscale: boolean, readonly resize: [number, number] | undefined) {
    super(env);
    const inner = env.observationSpace;
    if (inner.dtype !== 'uint8' || inner.shape.length !== 3 || (grayscale && inner.shape[2] !== 3)) {
      throw new RangeError(`grayscale/resize: needs uint8 pictures Box(h, w, ${grayscale ? '3' : 'c'}), the env's are Box(${inner.shape.join(', ')})${inner.dtype === 'uint8' ? '' : ' of float32'}`);
    }
    this.inShape = inner.shape as [number, number, number];
    const [h, w] = resize ?? this.inShape;
    // Luma and area means stay within the picture's bounds, so these are its bounds (the network scales by them): 0..1 planes stay 0..1.
    const low = Math.floor(inner.low.reduce((a, b) => Math.min(a, b), 255));
    const high = Math.ceil(inner.high.reduce((a, b) => Math.max(a, b), 0));
    this.observationSpace = new Box(low, high, [h, w, grayscale ? 1 : this.inShape[2]], 'uint8');
  }

  protected observe(obs: Observation): Observation {
    let [h, w, c] = this.inShape;
    let x: Float32Array = Float32Array.from(obs);
    if (this.grayscale) {
      const g = new Float32Array(h * w);
      for (let p = 0; p < h * w; p++) g[p] = 0.299 * x[p * 3] + 0.587 * x[p * 3 + 1] + 0.114 * x[p * 3 + 2];
      x = g;
      c = 1;
    }
    if (this.resize) {
      x = areaResize(x, [h, w, c], this.resize);
      [h, w] = this.resize;
    }
    const out = new Uint8Array(h * w * c);
    for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(x[i])));
    return out;
  }

  getState(): unknown {
    return this.env.getState?.();
  }

  setState(saved: unknown): void {
    this.env.setState?.(saved);
  }
}

/** (h, w, c) -> (H, W, c): each output pixel the mean of the input area it covers, partial pixels weighted by the fraction covered. */
export function areaResize(x: Float32Array, [h, w, c]: [number, number, number], [H, W]: [number, number]): Float32Array {
  const rows = coverage(h, H);
  const cols = coverage(w, W);
  const out = new Float32Array(H * W * c);
  for (let oy = 0; oy < H; oy++) {
    for (let ox = 0; ox < W; ox++) {
      for (const [y, wy] of rows[oy]) {
        for (const [xx, wx] of cols[ox]) {
          const weight = wy * wx;
          for (let ch = 0; ch < c; ch++) out[(oy * W + ox) * c + ch] += weight * x[(y * w + xx) * c + ch];
        }
      }
    }
  }
  return out;
}

/** For each of `m` outputs along an axis of `n` inputs: the inputs it covers and their weights (summing to 1). */
function coverage(n: number, m: number): [number, number][][] {
  const scale = n / m;
  return Array.from({ length: m }, (_, o) => {
    const start = o * scale;
    const end = start + scale;
    const parts: [number, number][] = [];
    for (let i = Math.floor(start); i < Math.min(n, Math.ceil(end)); i++) {
      const covered = Math.min(end, i + 1) - Math.max(start, i);
      if (covered > 1e-9) parts.push([i, covered / scale]);
    }
    return parts;
  });
}
