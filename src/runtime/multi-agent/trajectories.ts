import { ACTION_MASK, batchColumns, perEnv, type Column, type ColumnSpec, type Observation, type PolicySpec, type TrajectoryBatch } from '../../../core/algorithm';
import { concatBytes } from '../../../core/concat';

/** One agent's transition: from its action to its next action (or its end). */
interface Transition {
  obs: Observation;
  action: ArrayLike<number>;
  /** The policy's columns for this row (per `spec.columns`), and the mask it acted under. */
  columns: Record<string, Column>;
  mask: Uint8Array | null;
  /** The sum of the agent's rewards from this action up to its next action (or its end). */
  reward: number;
  terminated: boolean;
  truncated: boolean;
  /** The agent's observation at its next action, or its last one where it ended. */
  nextObs?: Observation;
  nextMask?: Uint8Array | null;
}

/** A slot's trajectory so far: the finished transitions not yet in a batch, the open one, and its episode's return and length. */
interface Slot {
  done: Transition[];
  open: Transition | null;
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
  /** Finished transitions in all slots (what `pending` says, kept rather than counted each step). */
  private finished = 0;

  constructor(readonly spec: PolicySpec) {
    this.columns = batchColumns(spec);
  }

  private slot(key: number): Slot {
    let s = this.slots.get(key);
    if (!s) this.slots.set(key, (s = { done: [], open: null, episodeReturn: 0, episodeLength: 0, returns: [], lengths: [] }));
    return s;
  }

  /** The agent of `key` acts: its open transition (if any) ends here, at `obs`, and a new one starts with this action (kept as given, not copied: the caller's to leave unchanged). */
  act(key: number, t: { obs: Observation; action: ArrayLike<number>; columns: Record<string, Column>; mask: Uint8Array | null }): void {
    const s = this.slot(key);
    if (s.open) {
      // Closed in place (no copy: a row per agent step is the sampler's hot path).
      s.open.nextObs = t.obs;
      s.open.nextMask = t.mask;
      s.done.push(s.open);
      this.finished += 1;
    }
    s.open = { obs: t.obs, action: t.action, columns: t.columns, mask: t.mask, reward: 0, terminated: false, truncated: false };
    s.episodeLength += 1;
  }

  /** The agent of `key` got `reward` in a step (acting or not). */
  reward(key: number, reward: number): void {
    const s = this.slot(key);
    s.episodeReturn += reward;
    if (s.open) s.open.reward += reward;
  }

  /** The agent of `key` is done (terminated, or truncated), its last observation `obs`: its open transition closes, its episode is counted. */
  end(key: number, how: { terminated: boolean; truncated: boolean; obs: Observation; mask: Uint8Array | null }): void {
    const s = this.slot(key);
    if (s.open) {
      s.done.push(Object.assign(s.open, { terminated: how.terminated, truncated: !how.terminated && how.truncated, nextObs: how.obs, nextMask: how.mask }));
      this.finished += 1;
    }
    if (s.episodeLength > 0) {
      s.returns.push(s.episodeReturn);
      s.lengths.push(s.episodeLength);
    }
    [s.open, s.episodeReturn, s.episodeLength] = [null, 0, 0];
  }

  /** Finished transitions waiting for `drain`, all slots together. */
  pending(): number {
    return this.finished;
  }

  /** Each slot's finished transitions as a batch of one column (slots with none give none); the open transitions wait for the next drain. */
  drain(meta: { workerId: number; policyVersion: number; seq: () => number }): TrajectoryBatch[] {
    const batches: TrajectoryBatch[] = [];
    for (const s of this.slots.values()) {
      if (s.done.length === 0) continue;
      batches.push(this.batch(s.done, s, meta));
      [s.done, s.returns, s.lengths] = [[], [], []];
    }
    this.finished = 0;
    return batches;
  }

  private batch(rows: Transition[], s: Slot, meta: { workerId: number; policyVersion: number; seq: () => number }): TrajectoryBatch {
    const obsSize = rows[0].obs.length;
    const obs = rows[0].obs instanceof Uint8Array ? new Uint8Array(rows.length * obsSize) : new Float32Array(rows.length * obsSize);
    rows.forEach((r, i) => obs.set(r.obs, i * obsSize));
    const columns: Record<string, Column> = {};
    for (const c of this.columns) {
      const width = perEnv(c.shape);
      const col = c.dtype === 'float32' ? new Float32Array(rows.length * width) : c.dtype === 'int32' ? new Int32Array(rows.length * width) : new Uint8Array(rows.length * width);
      gather(col, rows, width, c.name === ACTION_MASK ? (r) => r.mask! : (r) => r.columns[c.name]);
      columns[c.name] = col;
    }
    const width = rows[0].action.length;
    const actions = new Float32Array(rows.length * width);
    gather(actions, rows, width, (r) => r.action);
    const cut = rows.flatMap((r, i) => (r.truncated ? [i] : []));
    const last = rows[rows.length - 1];
    const finalObs = rows[0].obs instanceof Uint8Array ? new Uint8Array(cut.length * obsSize) : new Float32Array(cut.length * obsSize);
    cut.forEach((i, k) => finalObs.set(rows[i].nextObs!, k * obsSize));
    return {
      workerId: meta.workerId,
      seq: meta.seq(),
      policyId: this.spec.policyId,
      policyVersion: meta.policyVersion,
      numEnvs: 1,
      length: rows.length,
      obs,
      actions,
      rewards: Float32Array.from(rows, (r) => r.reward),
      terminated: Uint8Array.from(rows, (r) => (r.terminated ? 1 : 0)),
      truncated: Uint8Array.from(rows, (r) => (r.truncated ? 1 : 0)),
      columns,
      state: {},
      nextObs: last.nextObs!.slice(),
      finalObs: { index: Int32Array.from(cut), obs: finalObs },
      nextMasks: this.spec.actionMask ? { next: last.nextMask!.slice(), final: concatBytes(cut.map((i) => rows[i].nextMask!)) } : null,
      episodes: { returns: Float32Array.from(s.returns), lengths: Int32Array.from(s.lengths) },
    };
  }
}

/** Each row's `pick(row)` (of `width` values) into `out`, row after row; one value a row by index (a typed array's set() costs more than the copy). */
function gather(out: Column, rows: readonly Transition[], width: number, pick: (r: Transition) => ArrayLike<number>): void {
  if (width === 1) for (let i = 0; i < rows.length; i++) out[i] = pick(rows[i])[0];
  else for (let i = 0; i < rows.length; i++) out.set(pick(rows[i]), i * width);
}
