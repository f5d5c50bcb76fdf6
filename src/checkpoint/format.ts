import type { SpaceSpec } from '../../core/spaces';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AlgorithmState, NamedTensor } from '../../core/algorithm';
import { crc32 } from '@node-rs/crc32';
import { BadCheckpointError, CheckpointError } from '../../core/errors';
import { CHECKPOINT_FORMAT, migrate } from './migrate';

/** The format this version writes; a checkpoint of an older one is migrated as it is read (checkpoint/migrate.ts). */
export { CHECKPOINT_FORMAT };

export interface CheckpointMetadata {
  formatVersion: number;
  packageVersion: string;
  algorithm: string;
  envId: string;
  iteration: number;
  envSteps: number;
  wallSeconds: number;
  /** ISO time of writing. */
  time: string;
  episodeReturnMean: number | null;
  /** The resolved run config. */
  config: Record<string, unknown>;
  /**
   * The env's spaces, so that what needs only them (`rl export`, `rl view`) never runs the env's
   * code: a checkpoint of a module env is code (absent in checkpoints written before this).
   * `actionMask`: the env gives action masks, so an export takes them (absent before: false).
   */
  spaces?: { observationSpace: SpaceSpec; actionSpace: SpaceSpec; actionMask?: boolean };
  /** The evaluation that made it the run's best (`checkpoints/best/` alone, see checkpoint.best, catalog.ts). */
  evaluation?: BestEvaluation;
  /** CRC-32 of each other file, filled in by saveCheckpoint (absent in checkpoints written before it). */
  checksums?: Record<string, number>;
}

/** The evaluation during training whose mean made a checkpoint the best so far. */
export interface BestEvaluation {
  mean: number;
  std: number;
  episodes: number;
  iteration: number;
}

export interface Checkpoint {
  dir: string;
  metadata: CheckpointMetadata;
  algorithm: AlgorithmState;
  /** The learner's and the workers' own state (counters, episode window, env states). */
  runtime: Record<string, unknown>;
}

/**
 * A checkpoint is a folder `checkpoints/iter_000120/` holding:
 *   metadata.json  what it is (format, algorithm, env, counters, config)
 *   tensors.json   [{ name, shape, offset }] into tensors.bin (little-endian float32)
 *   tensors.bin
 *   state.json     { algorithm, runtime }: plain-data state
 * It is written into a temporary folder, fsync'd, then renamed into place, so a crash at any
 * point leaves the previous checkpoint whole; `keep` prunes the oldest.
 */
export function saveCheckpoint(runDir: string, ckpt: Omit<Checkpoint, 'dir'>, keep: number): string {
  const root = path.join(runDir, 'checkpoints');
  const name = `iter_${String(ckpt.metadata.iteration).padStart(6, '0')}`;
  const final = path.join(root, name);
  const tmp = path.join(root, `.tmp-${name}-${process.pid}`);
  try {
    writeCheckpointFolder(tmp, ckpt);
    if (fs.existsSync(final)) discard(root, final); // the same iteration saved again (a resumed run)
    fs.renameSync(tmp, final);
    fsyncDir(root);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new CheckpointError(`${final}: cannot write the checkpoint, ${writeProblem(err)}; the earlier checkpoints are untouched`);
  }
  for (const old of listCheckpoints(runDir).slice(0, -keep)) discard(root, old);
  return final;
}

/**
 * Writes a complete checkpoint into the new folder `tmp` (in `checkpoints/`), fsync'd, for the
 * caller to rename into place; first removes the half-written `.tmp-` folders of a process
 * killed mid-save (never loaded; the run dir's lock keeps other runs out).
 */
export function writeCheckpointFolder(tmp: string, ckpt: Omit<Checkpoint, 'dir'>): void {
  const root = path.dirname(tmp);
  fs.mkdirSync(root, { recursive: true });
  for (const stale of fs.readdirSync(root).filter((n) => n.startsWith('.tmp-'))) fs.rmSync(path.join(root, stale), { recursive: true, force: true });
  fs.mkdirSync(tmp);
  let offset = 0;
  const index = ckpt.algorithm.tensors.map((t) => {
    const entry = { name: t.name, shape: t.shape, offset };
    offset += t.data.length;
    return entry;
  });
  const bin = new Float32Array(offset);
  ckpt.algorithm.tensors.forEach((t, i) => bin.set(t.data, index[i].offset));
  const files: Record<string, Buffer> = {
    'tensors.bin': Buffer.from(bin.buffer, bin.byteOffset, bin.byteLength),
    'tensors.json': Buffer.from(JSON.stringify(index)),
    'state.json': Buffer.from(JSON.stringify({ algorithm: ckpt.algorithm.json, runtime: ckpt.runtime })),
  };
  for (const [file, data] of Object.entries(files)) writeSynced(path.join(tmp, file), data);
  const checksums = Object.fromEntries(Object.entries(files).map(([file, data]) => [file, crc32(data)]));
  // metadata.json last: a folder with it is complete.
  writeSynced(path.join(tmp, 'metadata.json'), `${JSON.stringify({ ...ckpt.metadata, checksums }, null, 2)}\n`);
  fsyncDir(tmp);
}

/** Why a write failed, in a few words (ENOSPC said plainly). */
export function writeProblem(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code === 'ENOSPC' ? 'no space left on the device (ENOSPC)' : e.code ? `${e.code}: ${e.syscall ?? 'write'} failed` : e.message.split('\n')[0];
}

/**
 * Removes a checkpoint folder so that no kill leaves half of it under its name: renamed out of
 * the way first (atomic), then deleted; a process killed in between leaves a `.tmp-` folder,
 * which the next save removes.
 */
export function discard(root: string, dir: string): void {
  const doomed = path.join(root, `.tmp-discard-${path.basename(dir)}-${process.pid}`);
  fs.renameSync(dir, doomed);
  fs.rmSync(doomed, { recursive: true, force: true });
}

/** A run's complete checkpoints, oldest first (half-written temporary folders are not among them). */
export function listCheckpoints(runDir: string): string[] {
  const root = path.join(runDir, 'checkpoints');
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((n) => /^iter_\d+$/.test(n))
    .map((n) => ({ n, iteration: Number(n.slice('iter_'.length)) }))
    .sort((a, b) => a.iteration - b.iteration) // by number: iter_1000000 comes after iter_999999
    .map(({ n }) => path.join(root, n));
}

/**
 * A checkpoint's metadata, in this version's format (see checkpoint/migrate.ts) and checked:
 * the fields every command reads, and an algorithm that its config names too.
 */
export function readMetadata(dir: string, expect: { algorithm?: string } = {}): CheckpointMetadata {
  return checkMetadata(dir, migrate(dir, readRawMetadata(dir), []).metadata, expect);
}

/**
 * The one way a checkpoint's metadata and tensors are read (`loadCheckpoint`, `rl evaluate`,
 * `rl export`, `rl view`): every file checked against its checksum, then migrated from its
 * format to this version's, then checked. state.json is read apart (`readState`): `rl evaluate`
 * needs only the weights.
 */
export function readCheckpoint(dir: string, expect: { algorithm?: string } = {}): { metadata: CheckpointMetadata; tensors: NamedTensor[] } {
  const raw = readRawMetadata(dir);
  if (typeof raw.formatVersion === 'number' && raw.formatVersion > CHECKPOINT_FORMAT) migrate(dir, raw, []); // says so before reading files it could misread
  const tensors = readTensors(dir, raw as unknown as CheckpointMetadata);
  const migrated = migrate(dir, raw, tensors);
  return { metadata: checkMetadata(dir, migrated.metadata, expect), tensors: migrated.tensors };
}

export function loadCheckpoint(dir: string, expect: { algorithm?: string } = {}): Checkpoint {
  const { metadata, tensors } = readCheckpoint(dir, expect);
  const state = readState(dir, metadata);
  return { dir, metadata, algorithm: { tensors, json: state.algorithm }, runtime: state.runtime };
}

/** metadata.json as it is on disk: a JSON object. */
function readRawMetadata(dir: string): Record<string, unknown> {
  const file = path.join(dir, 'metadata.json');
  try {
    const meta = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!meta || typeof meta !== 'object' || Array.isArray(meta)) throw new Error('not a JSON object');
    return meta;
  } catch (err) {
    throw new BadCheckpointError(`${file}: cannot read checkpoint metadata (${(err as Error).message.split('\n')[0]})`);
  }
}

function checkMetadata(dir: string, raw: Record<string, unknown>, expect: { algorithm?: string }): CheckpointMetadata {
  const fields = { algorithm: 'string', envId: 'string', iteration: 'number', envSteps: 'number', wallSeconds: 'number', config: 'object' } as const;
  const bad = Object.entries(fields).find(([k, type]) => typeof raw[k] !== type || raw[k] === null);
  if (bad) throw new BadCheckpointError(`${dir}: damaged checkpoint (metadata.json has no ${bad[0]} (${bad[1]}))`);
  const meta = raw as unknown as CheckpointMetadata;
  const named = meta.config.algorithm;
  if (named !== undefined && named !== meta.algorithm) {
    throw new BadCheckpointError(`${dir}: damaged checkpoint (metadata.json names algorithm ${JSON.stringify(meta.algorithm)}, its config ${JSON.stringify(named)})`);
  }
  if (expect.algorithm !== undefined && meta.algorithm !== expect.algorithm) {
    throw new CheckpointError(`${dir}: checkpoint of algorithm "${meta.algorithm}", but the config trains "${expect.algorithm}"`);
  }
  return meta;
}

/** A tensor's name: parts of letters, digits, `_`, `-` and `.` (never `.` or `..` alone) joined by `/`. */
const TENSOR_NAME = /^(?!\.\.?(\/|$))[\w.-]+(\/(?!\.\.?(\/|$))[\w.-]+)*$/;

/**
 * The tensors of a checkpoint as they are on disk (its format's names), checked: the files
 * match the checksums in metadata.json (checkpoints written before checksums: skipped), and
 * the index tiles tensors.bin exactly, each entry a name (unique, a plain path of words), a
 * shape of whole numbers and its offset.
 */
function readTensors(dir: string, metadata: CheckpointMetadata): NamedTensor[] {
  return damagedIfThrows(dir, () => {
    const index: unknown = JSON.parse(readChecked(dir, 'tensors.json', metadata).toString('utf8'));
    const buf = readChecked(dir, 'tensors.bin', metadata);
    if (buf.byteLength % 4 !== 0) throw new Error(`tensors.bin has ${buf.byteLength} bytes, not a whole number of float32s`);
    const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    if (!Array.isArray(index)) throw new Error('tensors.json is not a list');
    let next = 0;
    const names = new Set<string>();
    const tensors = index.map((e: { name?: unknown; shape?: unknown; offset?: unknown }, i): NamedTensor => {
      const ok = e && typeof e.name === 'string' && Array.isArray(e.shape) && e.shape.every((d) => Number.isSafeInteger(d) && d >= 0) && e.offset === next;
      if (!ok) throw new Error(`tensors.json entry ${i} is not { name, shape, offset: ${next} }`);
      const name = e.name as string;
      if (!TENSOR_NAME.test(name)) throw new Error(`tensors.json entry ${i} has the name ${JSON.stringify(name)}, not a tensor name (words joined by /)`);
      if (names.has(name)) throw new Error(`tensors.json names ${name} twice`);
      names.add(name);
      const shape = e.shape as number[];
      const size = shape.reduce((a, b) => a * b, 1);
      if (next + size > all.length) throw new Error(`tensor ${name} runs past the end of tensors.bin`);
      next += size;
      return { name, shape, data: all.slice(next - size, next) };
    });
    if (next !== all.length) throw new Error(`tensors.json indexes ${next} values, tensors.bin holds ${all.length}`);
    return tensors;
  });
}

/** state.json: the algorithm's and the runtime's plain-data state. */
export function readState(dir: string, metadata: CheckpointMetadata = readMetadata(dir)): { algorithm: Record<string, unknown>; runtime: Record<string, unknown> } {
  return damagedIfThrows(dir, () => {
    const state = JSON.parse(readChecked(dir, 'state.json', metadata).toString('utf8'));
    if (!state || typeof state !== 'object' || !state.runtime || typeof state.runtime !== 'object') throw new Error('state.json has no runtime state');
    return state;
  });
}

/** Throws the CheckpointError that loading would: every file read and checked. */
export function verifyCheckpoint(dir: string): void {
  loadCheckpoint(dir);
}

function readChecked(dir: string, file: string, metadata: CheckpointMetadata): Buffer {
  const data = fs.readFileSync(path.join(dir, file));
  const expected = metadata.checksums?.[file];
  if (expected !== undefined && crc32(data) !== expected) throw new Error(`${file} does not match its checksum in metadata.json`);
  return data;
}

function damagedIfThrows<T>(dir: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? `${path.basename(e.path ?? '')} is missing` : e.message.split('\n')[0];
    throw new BadCheckpointError(`${dir}: damaged checkpoint (${why})`);
  }
}

function writeSynced(file: string, data: string | Buffer): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether the learner should save a checkpoint after `iteration` (not the last: that one is
 * always saved): every `every` iterations, or when `everySeconds` have passed since the last
 * checkpoint (or the start of this process's run), whichever comes first; 0 turns either off.
 * Pure, so the learner calls it once per iteration with its own clock:
 *   if (checkpointDue(cfg.checkpoint, { iteration, secondsSinceCheckpoint })) { save; reset the clock }
 */
export function checkpointDue(
  policy: { every: number; everySeconds: number },
  now: { iteration: number; secondsSinceCheckpoint: number },
): boolean {
  if (policy.every > 0 && now.iteration % policy.every === 0) return true;
  return policy.everySeconds > 0 && now.secondsSinceCheckpoint >= policy.everySeconds;
}
