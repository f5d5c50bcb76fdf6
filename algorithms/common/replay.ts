import type { NamedTensor, Observation } from '../../core/algorithm';
import { ConfigError } from '../../core/errors';
import type { Rng } from '../../core/rng';

/** A replay buffer's action column: Discrete indices (int32, one a row) or Box actions (float32, `actionSize` a row). */
export type ActionColumn = Int32Array | Float32Array;

/**
 * How a buffer keeps actions: a Discrete action's index (`int32`, one a row), or a Box
 * action's `size` numbers (`float32`), as the policy gave them (SAC's before its tanh).
 */
export type ActionLayout = { dtype: 'int32' } | { dtype: 'float32'; size: number };

/** Transitions as columns: what a replay buffer stores and hands out. */
export interface Transitions<A extends ActionColumn = Int32Array> {
  /** [n * obsSize], in the observation space's dtype (uint8 pictures stay uint8 up to the network's input). */
  obs: Observation;
  /** [n]: Discrete action indices; or [n * actionSize]: Box actions. */
  actions: A;
  /** [n]: the (n-step) discounted reward sum. */
  rewards: Float32Array;
  /** [n * obsSize]: the state to bootstrap from, as `obs`. */
  nextObs: Observation;
  /** [n]: gamma^k, or 0 where the episode terminated (no bootstrap). */
  discounts: Float32Array;
  /** [n * numActions]: the action mask of each `nextObs` (1 legal), with action masks; absent or null without. */
  nextMasks?: Uint8Array | null;
}

export interface Sampled<A extends ActionColumn = Int32Array> extends Transitions<A> {
  /** Buffer rows of the sample, for `updatePriorities`. */
  index: Int32Array;
  /** Importance-sampling weights (all 1 for uniform sampling). */
  weights: Float32Array;
}

/**
 * A ring buffer of transitions in preallocated typed arrays: no object per transition.
 * Sampling is uniform, or proportional to priority^alpha through a sum-tree (prioritized
 * replay, Schaul et al. 2016) with importance weights (N P(i))^-beta, normalised by the
 * largest weight of the sample. Observations are kept in their dtype: a uint8 picture costs a
 * quarter of a float32 one (Atari's 84x84x4 frames: 28 KB a row, 56 KB with the next one).
 * Actions are Discrete indices, or with `actionLayout` float32 Box actions of any size
 * (`ReplayBuffer<Float32Array>`).
 */
export class ReplayBuffer<A extends ActionColumn = Int32Array> {
  readonly obs: Observation;
  readonly nextObs: Observation;
  readonly actions: A;
  /** Action values a row: 1 for Discrete indices. */
  readonly actionSize: number;
  readonly rewards: Float32Array;
  readonly discounts: Float32Array;
  /** [capacity * numActions]: each row's next mask, when the buffer keeps masks (`maskSize` > 0); else null. */
  readonly nextMasks: Uint8Array | null;
  /** Rows written so far, up to capacity. */
  size = 0;
  /** The row the next transition goes to. */
  position = 0;
  private readonly tree: SumTree | null;
  private maxPriority = 1;

  constructor(
    readonly capacity: number,
    readonly obsSize: number,
    readonly prioritized: { alpha: number; eps: number } | null = null,
    readonly obsDtype: 'float32' | 'uint8' = 'float32',
    readonly actionLayout: ActionLayout = { dtype: 'int32' },
    /** Bytes of action mask a row keeps (the env's Discrete n, with action masks); 0: none. */
    readonly maskSize = 0,
  ) {
    this.obs = this.allocate(capacity * obsSize);
    this.nextObs = this.allocate(capacity * obsSize);
    this.actionSize = actionLayout.dtype === 'int32' ? 1 : actionLayout.size;
    this.actions = this.allocateActions(capacity);
    this.rewards = new Float32Array(capacity);
    this.discounts = new Float32Array(capacity);
    this.nextMasks = maskSize > 0 ? new Uint8Array(capacity * maskSize) : null;
    this.tree = prioritized ? new SumTree(capacity) : null;
  }

  /** Appends every transition of `t`, overwriting the oldest once full. New ones get the highest priority seen. */
  add(t: Transitions<A>): void {
    const n = t.rewards.length;
    const d = this.obsSize;
    const k = this.actionSize;
    const m = this.maskSize;
    if (this.nextMasks && t.nextMasks?.length !== n * m) throw new RangeError(`ReplayBuffer.add: this buffer keeps ${m} mask bytes per transition; got ${t.nextMasks ? `${t.nextMasks.length} for ${n}` : 'no masks'}`);
    for (let i = 0; i < n; i++) {
      const row = this.position;
      this.obs.set(t.obs.subarray(i * d, (i + 1) * d), row * d);
      this.nextObs.set(t.nextObs.subarray(i * d, (i + 1) * d), row * d);
      if (k === 1) this.actions[row] = t.actions[i]; // a Discrete index: no view made per row
      else this.actions.set(t.actions.subarray(i * k, (i + 1) * k), row * k);
      this.rewards[row] = t.rewards[i];
      this.discounts[row] = t.discounts[i];
      this.nextMasks?.set(t.nextMasks!.subarray(i * m, (i + 1) * m), row * m);
      this.tree?.set(row, Math.fround(this.maxPriority ** this.prioritized!.alpha));
      this.position = (row + 1) % this.capacity;
      this.size = Math.min(this.size + 1, this.capacity);
    }
  }

  /** `count` rows drawn with replacement; `beta` only matters for prioritized replay. */
  sample(count: number, rng: Rng, beta = 1): Sampled<A> {
    if (this.size === 0) throw new RangeError('ReplayBuffer.sample: the buffer is empty');
    const index = new Int32Array(count);
    const weights = new Float32Array(count).fill(1);
    if (this.tree) {
      // Stratified: one draw in each of `count` equal slices of the total priority.
      const total = this.tree.total;
      const slice = total / count;
      let maxWeight = 0;
      for (let j = 0; j < count; j++) {
        const row = Math.min(this.tree.find((j + rng.random()) * slice), this.size - 1);
        index[j] = row;
        weights[j] = (this.size * (this.tree.get(row) / total)) ** -beta;
        maxWeight = Math.max(maxWeight, weights[j]);
      }
      for (let j = 0; j < count; j++) weights[j] /= maxWeight;
    } else {
      for (let j = 0; j < count; j++) index[j] = rng.int(this.size);
    }
    return { ...this.gather(index), index, weights };
  }

  /** Prioritized replay: the sampled rows' new priorities, |TD error| + eps. */
  updatePriorities(index: Int32Array, tdErrors: Float32Array): void {
    if (!this.tree) return;
    const { alpha, eps } = this.prioritized!;
    for (let j = 0; j < index.length; j++) {
      const p = Math.abs(tdErrors[j]) + eps;
      this.maxPriority = Math.max(this.maxPriority, p);
      this.tree.set(index[j], Math.fround(p ** alpha)); // float32, as a checkpoint stores them: a resumed run samples alike
    }
  }

  gather(index: Int32Array): Transitions<A> {
    const d = this.obsSize;
    const k = this.actionSize;
    const n = index.length;
    const m = this.maskSize;
    const out: Transitions<A> = {
      obs: this.allocate(n * d),
      nextObs: this.allocate(n * d),
      actions: this.allocateActions(n),
      rewards: new Float32Array(n),
      discounts: new Float32Array(n),
      nextMasks: this.nextMasks ? new Uint8Array(n * m) : null,
    };
    for (let j = 0; j < n; j++) {
      const row = index[j];
      out.obs.set(this.obs.subarray(row * d, (row + 1) * d), j * d);
      out.nextObs.set(this.nextObs.subarray(row * d, (row + 1) * d), j * d);
      if (k === 1) out.actions[j] = this.actions[row];
      else out.actions.set(this.actions.subarray(row * k, (row + 1) * k), j * k);
      out.rewards[j] = this.rewards[row];
      out.discounts[j] = this.discounts[row];
      out.nextMasks?.set(this.nextMasks!.subarray(row * m, (row + 1) * m), j * m);
    }
    return out;
  }

  private allocate(n: number): Observation {
    return this.obsDtype === 'uint8' ? new Uint8Array(n) : new Float32Array(n);
  }

  private allocateActions(rows: number): A {
    return (this.actionLayout.dtype === 'int32' ? new Int32Array(rows) : new Float32Array(rows * this.actionSize)) as A;
  }

  /**
   * The buffer for a checkpoint: its columns as tensors `replay/obs`, `replay/nextObs`,
   * `replay/actions` ([capacity], or [capacity, actionSize] for Box actions), `replay/rewards`,
   * `replay/discounts`, `replay/priorities` (prioritized) and `replay/nextMasks` (action masks), all float32 whatever their dtype
   * (one layout: earlier checkpoints load as they are); and its counters as plain data.
   */
  toState(): { tensors: NamedTensor[]; json: { size: number; position: number; maxPriority: number } } {
    const { priorities, ...json } = this.getState();
    const float = (x: Float32Array | Uint8Array | Int32Array) => (x instanceof Float32Array ? x : Float32Array.from(x));
    const tensors: NamedTensor[] = [
      { name: 'replay/obs', shape: [this.capacity, this.obsSize], data: float(this.obs) },
      { name: 'replay/nextObs', shape: [this.capacity, this.obsSize], data: float(this.nextObs) },
      { name: 'replay/actions', shape: this.actionLayout.dtype === 'int32' ? [this.capacity] : [this.capacity, this.actionSize], data: float(this.actions) },
      { name: 'replay/rewards', shape: [this.capacity], data: this.rewards },
      { name: 'replay/discounts', shape: [this.capacity], data: this.discounts },
    ];
    if (priorities) tensors.push({ name: 'replay/priorities', shape: [this.capacity], data: priorities });
    if (this.nextMasks) tensors.push({ name: 'replay/nextMasks', shape: [this.capacity, this.maskSize], data: Float32Array.from(this.nextMasks) });
    return { tensors, json };
  }

  /**
   * Restores what `toState()` gave; nothing when the state holds no `replay/obs` (a checkpoint
   * saved without its buffer). A buffer of another size, or actions of another size, is a
   * ConfigError naming `key` (the config key that sizes it: `dqn.bufferSize`).
   */
  fromState(tensors: NamedTensor[], json: { size: number; position: number; maxPriority: number } | undefined, key: string): void {
    const byName = new Map(tensors.map((t) => [t.name, t]));
    const obs = byName.get('replay/obs');
    if (!json || !obs) return;
    if (obs.data.length !== this.obs.length) throw new ConfigError(`the checkpoint's replay buffer holds ${obs.shape[0]} transitions of ${obs.shape[1]} values; this run's holds ${this.capacity} of ${this.obsSize} (${key})`);
    const actions = byName.get('replay/actions')!;
    if (actions.data.length !== this.actions.length) {
      throw new ConfigError(`the checkpoint's replay buffer holds ${actions.shape[0]} actions of ${actions.shape[1] ?? 1} values (replay/actions); this run's holds ${this.capacity} of ${this.actionSize} (${key})`);
    }
    this.obs.set(obs.data);
    this.nextObs.set(byName.get('replay/nextObs')!.data);
    this.actions.set(actions.data);
    this.rewards.set(byName.get('replay/rewards')!.data);
    this.discounts.set(byName.get('replay/discounts')!.data);
    const masks = byName.get('replay/nextMasks');
    if (this.nextMasks && masks?.data.length === this.nextMasks.length) this.nextMasks.set(masks.data);
    this.setState({ ...json, priorities: byName.get('replay/priorities')?.data ?? null });
  }

  /** Plain data for a checkpoint (the columns are the caller's to save as tensors). */
  getState(): { size: number; position: number; maxPriority: number; priorities: Float32Array | null } {
    return { size: this.size, position: this.position, maxPriority: this.maxPriority, priorities: this.tree ? this.tree.leaves() : null };
  }

  setState(s: { size: number; position: number; maxPriority: number; priorities: Float32Array | null }): void {
    this.size = s.size;
    this.position = s.position;
    this.maxPriority = s.maxPriority;
    if (this.tree && s.priorities) s.priorities.forEach((p, i) => this.tree!.set(i, p));
  }
}

/**
 * A binary tree over `capacity` leaves whose every node holds the sum of its children:
 * setting a leaf and finding the leaf where a running sum crosses a value are O(log n).
 */
export class SumTree {
  private readonly leaves0: number;
  private readonly nodes: Float64Array;

  constructor(readonly capacity: number) {
    let size = 1;
    while (size < capacity) size *= 2;
    this.leaves0 = size;
    this.nodes = new Float64Array(2 * size);
  }

  get total(): number {
    return this.nodes[1];
  }

  get(i: number): number {
    return this.nodes[this.leaves0 + i];
  }

  set(i: number, value: number): void {
    if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`SumTree: priority must be a finite number >= 0, got ${value}`);
    let node = this.leaves0 + i;
    this.nodes[node] = value;
    // Sums recomputed, not adjusted by the change: no rounding drift over millions of updates.
    for (node >>= 1; node >= 1; node >>= 1) this.nodes[node] = this.nodes[2 * node] + this.nodes[2 * node + 1];
  }

  /** The leaf i with sum(leaves < i) <= mass < sum(leaves <= i). */
  find(mass: number): number {
    let node = 1;
    while (node < this.leaves0) {
      const left = 2 * node;
      if (mass < this.nodes[left]) node = left;
      else {
        mass -= this.nodes[left];
        node = left + 1;
      }
    }
    return Math.min(node - this.leaves0, this.capacity - 1);
  }

  leaves(): Float32Array {
    return Float32Array.from(this.nodes.subarray(this.leaves0, this.leaves0 + this.capacity));
  }
}
