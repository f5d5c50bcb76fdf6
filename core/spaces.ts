import { describeValue } from './describe';
import type { Rng } from './rng';

/** A plain-data description of a space, as it travels to workers and into checkpoints. */
export type SpaceSpec =
  | {
      /** A `Discrete` space. */
      type: 'Discrete';
      /** Its number of actions. */
      n: number;
    }
  | {
      /** A `Box` space. */
      type: 'Box';
      /** Its dimensions. */
      shape: number[];
      /** Each element's lower bound (may be -Infinity). */
      low: number[];
      /** Each element's upper bound (may be Infinity). */
      high: number[];
      /** `uint8` for pictures; absent: float32. */
      dtype?: 'uint8';
    };

/** `n` actions, 0 .. n-1. */
export class Discrete {
  /** Tells the two spaces apart. */
  readonly type = 'Discrete' as const;
  /** An action is one number: no dimensions. */
  readonly shape: number[] = [];
  /** Numbers per action: 1. */
  readonly size = 1;

  constructor(
    /** The number of actions. */
    readonly n: number,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Discrete(n): n must be a positive integer, got ${n}`);
  }

  /** True for an integer from 0 to n - 1. */
  contains(x: unknown): boolean {
    return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < this.n;
  }

  /** A uniform random action. */
  sample(rng: Rng): number {
    return rng.int(this.n);
  }

  /** The space as plain data (to send or save). */
  toSpec(): SpaceSpec {
    return { type: 'Discrete', n: this.n };
  }

  /** `Discrete(n)`, for messages. */
  toString(): string {
    return `Discrete(${this.n})`;
  }
}

/**
 * A box of values with per-element bounds (which may be infinite): float32, or uint8 for
 * pictures (`dtype: 'uint8'`: a Uint8Array, bounds within [0, 255]), which travel and are
 * stored at a quarter of the bytes.
 */
export class Box {
  /** Tells the two spaces apart. */
  readonly type = 'Box' as const;
  /** Each element's lower bound. */
  readonly low: Float32Array;
  /** Each element's upper bound. */
  readonly high: Float32Array;
  /** Number of elements: the product of `shape`. */
  readonly size: number;
  /** The element type of its values: float32, or uint8 for pictures. */
  readonly dtype: 'float32' | 'uint8';

  /**
   * @param low each element's lower bound, or one number for all
   * @param high each element's upper bound, or one number for all
   * @param dtype `uint8` for pictures (bounds within [0, 255])
   */
  constructor(
    low: number | ArrayLike<number>,
    high: number | ArrayLike<number>,
    /** Its dimensions. */
    readonly shape: number[],
    dtype: 'float32' | 'uint8' = 'float32',
  ) {
    this.size = shape.reduce((a, b) => a * b, 1);
    if (!shape.every((d) => Number.isInteger(d) && d > 0)) throw new RangeError(`Box: shape must be positive integers, got [${shape}]`);
    if (dtype !== 'float32' && dtype !== 'uint8') throw new RangeError(`Box: dtype must be 'float32' or 'uint8', got ${describeValue(dtype)}`);
    this.dtype = dtype;
    this.low = broadcast(low, this.size, 'low');
    this.high = broadcast(high, this.size, 'high');
    for (let i = 0; i < this.size; i++) {
      if (!(this.low[i] <= this.high[i])) throw new RangeError(`Box: low[${i}] (${this.low[i]}) must be <= high[${i}] (${this.high[i]})`);
      if (dtype === 'uint8' && !(this.low[i] >= 0 && this.high[i] <= 255)) throw new RangeError(`Box: a uint8 box's bounds must be within [0, 255], got [${this.low[i]}, ${this.high[i]}] at ${i}`);
    }
  }

  /** An empty array of this box's element type, for `n` values. */
  allocate(n: number): Float32Array | Uint8Array {
    return this.dtype === 'uint8' ? new Uint8Array(n) : new Float32Array(n);
  }

  /** True for an array of this box's type and length whose elements are finite and within bounds. */
  contains(x: unknown): boolean {
    return this.violation(x) === undefined;
  }

  /** Why `x` is not in this box, or undefined when it is. */
  violation(x: unknown): string | undefined {
    if (!(this.dtype === 'uint8' ? x instanceof Uint8Array : x instanceof Float32Array)) return `expected a ${this.dtype === 'uint8' ? 'Uint8Array' : 'Float32Array'}, got ${describeValue(x)}`;
    if (!(x instanceof Uint8Array || x instanceof Float32Array)) return undefined; // unreachable: narrows x
    if (x.length !== this.size) return `expected ${this.size} elements (shape [${this.shape}]), got ${x.length}`;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (!Number.isFinite(v)) return `element ${i} is ${v}`;
      if (v < this.low[i] || v > this.high[i]) return `element ${i} (${v}) is outside [${this.low[i]}, ${this.high[i]}]`;
    }
    return undefined;
  }

  /** Uniform within finite bounds; normal where a side is unbounded (as Gymnasium does). */
  sample(rng: Rng): Float32Array {
    const out = new Float32Array(this.size);
    if (this.dtype === 'uint8') {
      for (let i = 0; i < this.size; i++) out[i] = this.low[i] + rng.int(this.high[i] - this.low[i] + 1);
      return out;
    }
    for (let i = 0; i < this.size; i++) {
      const lo = this.low[i];
      const hi = this.high[i];
      if (Number.isFinite(lo) && Number.isFinite(hi)) out[i] = rng.uniform(lo, hi);
      else if (Number.isFinite(lo)) out[i] = lo - Math.log(1 - rng.random());
      else if (Number.isFinite(hi)) out[i] = hi + Math.log(1 - rng.random());
      else out[i] = rng.normal();
    }
    return out;
  }

  /** Rows of `size` values, each clipped to the bounds (a batch of sampled actions on their way to the envs). */
  clip(rows: Float32Array): Float32Array {
    const out = new Float32Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = Math.min(this.high[i % this.size], Math.max(this.low[i % this.size], rows[i]));
    return out;
  }

  /** The space as plain data (to send or save). */
  toSpec(): SpaceSpec {
    const spec: SpaceSpec = { type: 'Box', shape: [...this.shape], low: Array.from(this.low), high: Array.from(this.high) };
    return this.dtype === 'uint8' ? { ...spec, dtype: 'uint8' } : spec;
  }

  /** `Box(shape=[...])`, for messages. */
  toString(): string {
    return `Box(shape=[${this.shape}]${this.dtype === 'uint8' ? ', uint8' : ''})`;
  }
}

/** An env's observation or action space. */
export type Space = Discrete | Box;

/** The space a `SpaceSpec` describes (from a message or a checkpoint). */
export function spaceFromSpec(spec: SpaceSpec): Space {
  return spec.type === 'Discrete' ? new Discrete(spec.n) : new Box(spec.low, spec.high, spec.shape, spec.dtype ?? 'float32');
}

function broadcast(v: number | ArrayLike<number>, size: number, name: string): Float32Array {
  if (typeof v === 'number') return new Float32Array(size).fill(v);
  if (v.length !== size) throw new RangeError(`Box: ${name} has ${v.length} elements, shape needs ${size}`);
  return Float32Array.from(v);
}
