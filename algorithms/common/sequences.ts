/**
 * Sequences for a recurrent policy's update. A batch's rows are time-major (row t * numEnvs +
 * n); each env's rows are cut into sequences of `sequenceLength` steps (the last of a batch
 * shorter when its length is not a multiple). An episode that starts inside a sequence resets
 * the state there (`resets`: the cell starts that step from zeros, as the stepper did when it
 * acted), so a sequence never carries state across an episode boundary, and no rows are wasted
 * on padding, as CleanRL's `ppo_atari_lstm` has it (SB3's RecurrentPPO cuts at episode starts
 * and pads instead: with 20-step episodes and 32-step sequences, 2.5 times the rows). The state
 * stored at a sequence's first row (zeros where it is an episode's first) is where the cell
 * starts. Minibatches are made of whole sequences, a short one padded to `sequenceLength` with
 * rows of weight 0.
 */

/** Where each sequence starts (a row of the joined rows) and how many steps it has; which rows start an episode. */
export interface SequenceIndex {
  /** Each sequence's first row. */
  starts: Int32Array;
  /** Each sequence's steps (1 to sequenceLength); its rows are start + t * stride. */
  lengths: Int32Array;
  /** Rows between one step of a sequence and the next: each part's numEnvs. */
  strides: Int32Array;
  /** Per joined row, 1 where the row before it in its env ended an episode (terminated or truncated) in the same batch. */
  episodeStarts: Uint8Array;
}

/** One batch's part of the rows: `numEnvs` envs of `length` steps from row `offset` on, with its episode ends. */
export interface SequencePart {
  offset: number;
  numEnvs: number;
  length: number;
  terminated: Uint8Array;
  truncated: Uint8Array;
}

/** The sequences of every part, env by env, in order of their first row within an env. */
export function cutSequences(parts: SequencePart[], sequenceLength: number): SequenceIndex {
  if (!Number.isInteger(sequenceLength) || sequenceLength < 1) throw new RangeError(`sequenceLength (${sequenceLength}) must be a positive integer`);
  const starts: number[] = [];
  const lengths: number[] = [];
  const strides: number[] = [];
  const rows = parts.reduce((a, p) => Math.max(a, p.offset + p.numEnvs * p.length), 0);
  const episodeStarts = new Uint8Array(rows);
  for (const { offset, numEnvs: n, length: T, terminated, truncated } of parts) {
    for (let i = n; i < n * T; i++) episodeStarts[offset + i] = terminated[i - n] | truncated[i - n];
    for (let e = 0; e < n; e++) {
      for (let start = 0; start < T; start += sequenceLength) {
        starts.push(offset + start * n + e);
        lengths.push(Math.min(sequenceLength, T - start));
        strides.push(n);
      }
    }
  }
  return { starts: Int32Array.from(starts), lengths: Int32Array.from(lengths), strides: Int32Array.from(strides), episodeStarts };
}

/**
 * The rows of the sequences `which` (indices into `seqs`), time-major and padded: entry
 * t * which.length + s is sequence s's step t, or -1 past its end; `weights` is 1 for a real
 * step and 0 for padding; `resets` is 1 where an episode starts at a sequence's step t >= 1
 * (the cell's state is zeroed before that step; at step 0 the stored state is already zero).
 */
export function sequenceRows(seqs: SequenceIndex, which: ArrayLike<number>, sequenceLength: number): { rows: Int32Array; weights: Float32Array; resets: Uint8Array } {
  const S = which.length;
  const rows = new Int32Array(S * sequenceLength).fill(-1);
  const weights = new Float32Array(S * sequenceLength);
  const resets = new Uint8Array(S * sequenceLength);
  for (let s = 0; s < S; s++) {
    const k = which[s];
    for (let t = 0; t < seqs.lengths[k]; t++) {
      const row = seqs.starts[k] + t * seqs.strides[k];
      rows[t * S + s] = row;
      weights[t * S + s] = 1;
      if (t > 0) resets[t * S + s] = seqs.episodeStarts[row];
    }
  }
  return { rows, weights, resets };
}
