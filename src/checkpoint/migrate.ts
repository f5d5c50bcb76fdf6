import { DEFAULT_POLICY, type NamedTensor } from '../../core/algorithm';
import { BadCheckpointError } from '../../core/errors';

/**
 * A checkpoint of an older format, brought to this version's: the metadata.json object as it
 * was read (not yet checked: an older format may lack fields or name them otherwise) and the
 * tensors. When a command reads the metadata alone, a step gets no tensors (`[]`): a step that
 * renames or reshapes tensors maps over the ones it gets.
 */
export type MigrationStep = (metadata: Record<string, unknown>, tensors: NamedTensor[]) => { metadata: Record<string, unknown>; tensors: NamedTensor[] };

/**
 * `MIGRATIONS[k - 1]` takes a checkpoint of format k to format k + 1 (its formatVersion is set
 * after the step). A change of the layout appends a step here, and a fixture run dir of the
 * format before it stays in test/fixtures/checkpoints/ (checkpoint-fixtures.test.ts loads it).
 */
export const MIGRATIONS: readonly MigrationStep[] = [
  // 1 -> 2: policies by id. A format-1 run had one policy, now `default`: `weights/X` is
  // `weights/default/X`. Format 1 also kept one number that is no parameter among the weights,
  // `weights/exploration/epsilon` (an exploration rate, now a broadcast scalar whose value
  // state.json holds): dropped, so the weights are the model's tensors exactly.
  (metadata, tensors) => ({
    metadata,
    tensors: tensors
      .filter((t) => t.name !== 'weights/exploration/epsilon')
      .map((t) => (t.name.startsWith('weights/') ? { ...t, name: `weights/${DEFAULT_POLICY}/${t.name.slice('weights/'.length)}` } : t)),
  }),
];

/** The format this version writes: one past the last step. */
export const CHECKPOINT_FORMAT = MIGRATIONS.length + 1;

/**
 * The checkpoint at `dir` (its metadata and tensors as read) in this version's format. A
 * format newer than this version knows is refused in one line: reading it as an older one
 * could misread it, and resuming would delete it (checkpoints past the resumed one go).
 */
export function migrate(dir: string, metadata: Record<string, unknown>, tensors: NamedTensor[]): { metadata: Record<string, unknown>; tensors: NamedTensor[] } {
  const from = metadata.formatVersion;
  if (typeof from !== 'number' || !Number.isSafeInteger(from) || from < 1) {
    throw new BadCheckpointError(`${dir}: damaged checkpoint (metadata.json formatVersion ${JSON.stringify(from)} is not a format number)`);
  }
  if (from > CHECKPOINT_FORMAT) {
    throw new BadCheckpointError(`${dir}: checkpoint format ${from} (written by rl-zmq ${String(metadata.packageVersion)}); this version reads formats up to ${CHECKPOINT_FORMAT} (use the version that wrote it, or a newer one)`);
  }
  let parts = { metadata, tensors };
  for (let k = from; k < CHECKPOINT_FORMAT; k++) {
    const next = MIGRATIONS[k - 1](parts.metadata, parts.tensors);
    parts = { metadata: { ...next.metadata, formatVersion: k + 1 }, tensors: next.tensors };
  }
  return parts;
}
