import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

/**
 * The one source of randomness for environments and sampling: a seeded xoroshiro128+
 * (pure-rand), with the few draws RL code needs. Its state is plain numbers, so it can be
 * checkpointed and restored exactly.
 */
export class Rng {
  private gen: JumpableRandomGenerator;

  constructor(seed: number | readonly number[]) {
    // pure-rand's own seeding puts the seed into the state almost as is, and the first draws
    // of nearby seeds come out nearly equal; mixing the seed into all 128 bits avoids that.
    this.gen = xoroshiro128plusFromState(typeof seed === 'number' ? [0, 1, 2, 3].map((i) => deriveSeed(seed, i) | 0) : seed);
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  random(): number {
    return (this.gen.next() >>> 0) / 4294967296;
  }

  /** Uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.random();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.random(); // (0, 1]: log is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random());
  }

  /** An independent generator, derived deterministically from this one's next draws. */
  fork(): Rng {
    return new Rng([this.gen.next(), this.gen.next(), this.gen.next(), this.gen.next()]);
  }

  /** The generator's state, four numbers, to checkpoint. */
  getState(): number[] {
    return [...this.gen.getState()];
  }

  /** Continues from a state `getState()` gave. */
  setState(state: readonly number[]): void {
    this.gen = xoroshiro128plusFromState(state);
  }
}

/** A seed for stream `index` derived from a base seed (splitmix32 mixing), so that streams don't overlap. */
export function deriveSeed(base: number, ...index: number[]): number {
  let h = base | 0;
  for (const i of index) {
    h = (h + 0x9e3779b9 + (i | 0)) | 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}
