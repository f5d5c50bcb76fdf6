/**
 * Sequences for a recurrent policy's update. A batch's rows are time-major (row t * numEnvs +
 * n); each env's rows are cut into sequences of at most `sequenceLength` steps, cut also where
 * an episode starts (the row after a terminated or truncated one), so that no sequence crosses
 * an episode boundary: the state stored at a sequence's first row (zeros where it is an
 * episode's first) is all the cell needs, with no reset inside. Minibatches are made of whole
 * sequences, padded to `sequenceLength` with rows of weight 0 (SB3's RecurrentPPO pads the
 * same way; it cuts only at episode starts and minibatch edges).
 */

/** Where each sequence starts (a row of the joined rows) and how many steps it has. */
export interface SequenceIndex {
  /** Each sequence's first row. */
  starts: Int32Array;
  /** Each sequence's steps (1 to sequenceLength); its rows are start + t * stride. */
  lengths: Int32Array;
  /** Rows between one step of a sequence and the next: each part's numEnvs. */
  strides: Int32Array;
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
  for (const { offset, numEnvs: n, length: T, terminated, truncated } of parts) {
    for (let e = 0; e < n; e++) {
      let start = 0;
      for (let t = 1; t <= T; t++) {
        const ended = t === T || t - start === sequenceLength || terminated[(t - 1) * n + e] === 1 || truncated[(t - 1) * n + e] === 1;
        if (!ended) continue;
        starts.push(offset + start * n + e);
        lengths.push(t - start);
        strides.push(n);
        start = t;
      }
    }
  }
  return { starts: Int32Array.from(starts), lengths: Int32Array.from(lengths), strides: Int32Array.from(strides) };
}

/**
 * The rows of the sequences `which` (indices into `seqs`), time-major and padded: entry
 * t * which.length + s is sequence s's step t, or -1 past its end; `weights` is 1 for a real
 * step and 0 for padding.
 */
export function sequenceRows(seqs: SequenceIndex, which: ArrayLike<number>, sequenceLength: number): { rows: Int32Array; weights: Float32Array } {
  const S = which.length;
  const rows = new Int32Array(S * sequenceLength).fill(-1);
  const weights = new Float32Array(S * sequenceLength);
  for (let s = 0; s < S; s++) {
    const k = which[s];
    for (let t = 0; t < seqs.lengths[k]; t++) {
      rows[t * S + s] = seqs.starts[k] + t * seqs.strides[k];
      weights[t * S + s] = 1;
    }
  }
  return { rows, weights };
}
