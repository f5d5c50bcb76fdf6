import { ACTION_MASK, batchColumns, perEnv, type Column, type ColumnSpec, type Observation, type PolicySpec, type TrajectoryBatch } from '../../../core/algorithm';
import { concatBytes } from '../../../core/concat';

/** One batched forward pass of a policy: `rows` agents' observations, actions, columns and masks, row after row; `AgentTrajectories.act` copies one row. */
export interface ActedRows {
  rows: number;
  obs: Observation;
  actions: ArrayLike<number>;
  /** The policy's columns (per `spec.columns`). */
  columns: Record<string, Column>;
  /** The masks the agents acted under; null without masks. */
  mask: Uint8Array | null;
}

/** Where a transition ended rather than at the agent's next action: its last observation and mask (its bootstrap). */
interface Ending {
  obs: Observation;
  mask: Uint8Array | null;
}

/**
 * A slot's trajectory so far, one typed array per field, a row per transition: rows 0 to
 * `rows - 1` are finished, row `rows` is the open one (when `open`), its reward still adding up.
 * A finished row's bootstrap observation is the next row's, unless it ended (`ending`: the last
 * finished row's, `cuts`: each truncated row's).
 */
interface Slot {
  rows: number;
  open: boolean;
  /** Rows the arrays hold (they grow, doubling, as needed). */
  capacity: number;
  obsSize: number;
  actionWidth: number;
  obs: Observation;
  actions: Float32Array;
  /** One array per column of the batch (`batchColumns`), the action mask's included. */
  columns: Column[];
  /** Summed as numbers (float64), as rewards arrive; float32 in the batch. */
  rewards: Float64Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  /** The last finished row's bootstrap where it ended (terminated or truncated); null where the agent acted again. */
  ending: Ending | null;
  /** The truncated rows among the finished ones, each with its last observation and mask. */
  cuts: (Ending & { row: number })[];
  episodeReturn: number;
  episodeLength: number;
  returns: number[];
  lengths: number[];
}

/**
 * One trained policy's trajectories in a multi-agent run, one per slot (an agent of one env):
 * a transition runs from an agent's action to its next action or its end; its reward is the
 * sum of the agent's rewards in between (the loser's -1, which arrives with the winner's move,
 * goes to the loser's last transition); its termination or truncation closes it, and its
 * bootstrap observation is the agent's observation at its next action. `drain` cuts each slot's
 * finished transitions into a batch of one column (`numEnvs` 1), so the algorithm trains on
 * them as on any batch. An agent's rewards before its first action count to its episode's
 * return but train nothing (no action of its led to them).
 */
export class AgentTrajectories {
  private readonly slots = new Map<number, Slot>();
  private readonly columns: ColumnSpec[];
  private readonly widths: number[];
  /** The action mask's column among `columns`; -1 without masks. */
  private readonly maskColumn: number;
  /** Finished transitions in all slots (what `pending` says, kept rather than counted each step). */
  private finished = 0;

  constructor(readonly spec: PolicySpec) {
    this.columns = batchColumns(spec);
    this.widths = this.columns.map((c) => perEnv(c.shape));
    this.maskColumn = this.columns.findIndex((c) => c.name === ACTION_MASK);
  }

  private slot(key: number): Slot {
    let s = this.slots.get(key);
    if (!s) {
      s = { rows: 0, open: false, capacity: 0, obsSize: 0, actionWidth: 0, obs: new Float32Array(0), actions: new Float32Array(0), columns: [], rewards: new Float64Array(0), terminated: new Uint8Array(0), truncated: new Uint8Array(0), ending: null, cuts: [], episodeReturn: 0, episodeLength: 0, returns: [], lengths: [] };
      this.slots.set(key, s);
    }
    return s;
  }

  /** The agent of `key` acts, as row `k` of `acted`: its open transition (if any) ends here, and a new one starts with this action (the row copied). */
  act(key: number, acted: ActedRows, k: number): void {
    const s = this.slot(key);
    if (s.open) {
      s.rows += 1;
      s.ending = null;
      this.finished += 1;
    }
    const row = s.rows;
    if (row === s.capacity) this.grow(s, acted);
    copyRow(acted.obs, k, s.obs, row, s.obsSize);
    copyRow(acted.actions, k, s.actions, row, s.actionWidth);
    this.columns.forEach((c, j) => copyRow(j === this.maskColumn ? acted.mask! : acted.columns[c.name], k, s.columns[j], row, this.widths[j]));
    s.rewards[row] = 0;
    s.terminated[row] = 0;
    s.truncated[row] = 0;
    s.open = true;
    s.episodeLength += 1;
  }

  /** The agent of `key` got `reward` in a step (acting or not). */
  reward(key: number, reward: number): void {
    const s = this.slot(key);
    s.episodeReturn += reward;
    if (s.open) s.rewards[s.rows] += reward;
  }

  /** The agent of `key` is done (terminated, or truncated), its last observation `obs`: its open transition closes, its episode is counted. */
  end(key: number, how: { terminated: boolean; truncated: boolean; obs: Observation; mask: Uint8Array | null }): void {
    const s = this.slot(key);
    if (s.open) {
      const row = s.rows;
      s.terminated[row] = how.terminated ? 1 : 0;
      s.truncated[row] = !how.terminated && how.truncated ? 1 : 0;
      s.ending = { obs: how.obs, mask: how.mask };
      if (s.truncated[row] === 1) s.cuts.push({ row, ...s.ending });
      [s.rows, s.open] = [row + 1, false];
      this.finished += 1;
    }
    if (s.episodeLength > 0) {
      s.returns.push(s.episodeReturn);
      s.lengths.push(s.episodeLength);
    }
    [s.episodeReturn, s.episodeLength] = [0, 0];
  }

  /** Finished transitions waiting for `drain`, all slots together. */
  pending(): number {
    return this.finished;
  }

  /** Each slot's finished transitions as a batch of one column (slots with none give none); the open transitions wait for the next drain. */
  drain(meta: { workerId: number; policyVersion: number; seq: () => number }): TrajectoryBatch[] {
    const batches: TrajectoryBatch[] = [];
    for (const s of this.slots.values()) {
      if (s.rows === 0) continue;
      batches.push(this.batch(s, meta));
      this.keepOpenRow(s);
    }
    this.finished = 0;
    return batches;
  }

  private batch(s: Slot, meta: { workerId: number; policyVersion: number; seq: () => number }): TrajectoryBatch {
    const n = s.rows;
    const columns: Record<string, Column> = {};
    this.columns.forEach((c, j) => (columns[c.name] = s.columns[j].slice(0, n * this.widths[j])));
    // The last row's bootstrap: where it ended, or else the open row's observation and mask (the agent's next action).
    const m = this.maskColumn;
    const next = s.ending ?? { obs: rowOf(s.obs, n, s.obsSize), mask: m >= 0 ? (rowOf(s.columns[m], n, this.widths[m]) as Uint8Array) : null };
    const finalObs = s.obs instanceof Uint8Array ? new Uint8Array(s.cuts.length * s.obsSize) : new Float32Array(s.cuts.length * s.obsSize);
    s.cuts.forEach((cut, k) => finalObs.set(cut.obs, k * s.obsSize));
    return {
      workerId: meta.workerId,
      seq: meta.seq(),
      policyId: this.spec.policyId,
      policyVersion: meta.policyVersion,
      numEnvs: 1,
      length: n,
      obs: s.obs.slice(0, n * s.obsSize),
      actions: s.actions.slice(0, n * s.actionWidth),
      rewards: new Float32Array(s.rewards.subarray(0, n)),
      terminated: s.terminated.slice(0, n),
      truncated: s.truncated.slice(0, n),
      columns,
      state: {},
      nextObs: next.obs.slice(),
      finalObs: { index: Int32Array.from(s.cuts, (cut) => cut.row), obs: finalObs },
      nextMasks: this.spec.actionMask ? { next: next.mask!.slice(), final: concatBytes(s.cuts.map((cut) => cut.mask!)) } : null,
      episodes: { returns: Float32Array.from(s.returns), lengths: Int32Array.from(s.lengths) },
    };
  }

  /** After a drain: the open row (if any) moves to row 0, the finished ones and their episodes are gone. */
  private keepOpenRow(s: Slot): void {
    if (s.open) {
      const n = s.rows;
      s.obs.copyWithin(0, n * s.obsSize, (n + 1) * s.obsSize);
      s.actions.copyWithin(0, n * s.actionWidth, (n + 1) * s.actionWidth);
      s.columns.forEach((col, j) => col.copyWithin(0, n * this.widths[j], (n + 1) * this.widths[j]));
      [s.rewards[0], s.terminated[0], s.truncated[0]] = [s.rewards[n], 0, 0];
    }
    [s.rows, s.ending, s.cuts, s.returns, s.lengths] = [0, null, [], [], []];
  }

  /** Room for one more row: the arrays doubled (at first, sized for `acted`'s rows). */
  private grow(s: Slot, acted: ActedRows): void {
    if (s.capacity === 0) {
      s.obsSize = acted.obs.length / acted.rows;
      s.actionWidth = acted.actions.length / acted.rows;
      s.obs = acted.obs instanceof Uint8Array ? new Uint8Array(0) : new Float32Array(0);
      s.columns = this.columns.map(emptyColumn);
    }
    const capacity = Math.max(16, 2 * s.capacity);
    s.obs = resized(s.obs, capacity * s.obsSize);
    s.actions = resized(s.actions, capacity * s.actionWidth);
    s.columns = s.columns.map((col, j) => resized(col, capacity * this.widths[j]));
    s.rewards = resized(s.rewards, capacity);
    s.terminated = resized(s.terminated, capacity);
    s.truncated = resized(s.truncated, capacity);
    s.capacity = capacity;
  }
}

/** Row `k` of `from` (rows of `width`) into row `row` of `to`, value by value (no view made). */
function copyRow(from: ArrayLike<number>, k: number, to: Column | Float64Array, row: number, width: number): void {
  for (let i = 0; i < width; i++) to[row * width + i] = from[k * width + i];
}

/** Row `row` (of `width` values) of `a`, a view. */
function rowOf<T extends Column>(a: T, row: number, width: number): T {
  return a.subarray(row * width, (row + 1) * width) as T;
}

/** An empty array of column `c`'s dtype. */
function emptyColumn(c: ColumnSpec): Column {
  return c.dtype === 'float32' ? new Float32Array(0) : c.dtype === 'int32' ? new Int32Array(0) : new Uint8Array(0);
}

/** A copy of `a` of length `length`, the same type, zero past a's values. */
function resized<T extends Column | Float64Array>(a: T, length: number): T {
  const out = new (a.constructor as new (n: number) => T)(length);
  out.set(a);
  return out;
}
