import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AlgorithmState, NamedTensor } from '../core/algorithm';
import { CheckpointError } from '../core/errors';

/** Bumped whenever the layout below changes; a checkpoint of another version is refused. */
export const CHECKPOINT_FORMAT = 1;

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
  fs.mkdirSync(root, { recursive: true });
  const name = `iter_${String(ckpt.metadata.iteration).padStart(6, '0')}`;
  const final = path.join(root, name);
  const tmp = path.join(root, `.tmp-${name}-${process.pid}`);
  // Half-written folders of a process killed mid-save: never loaded, removed here.
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
  writeSynced(path.join(tmp, 'tensors.bin'), Buffer.from(bin.buffer, bin.byteOffset, bin.byteLength));
  writeSynced(path.join(tmp, 'tensors.json'), JSON.stringify(index));
  writeSynced(path.join(tmp, 'state.json'), JSON.stringify({ algorithm: ckpt.algorithm.json, runtime: ckpt.runtime }));
  // metadata.json last: a folder with it is complete.
  writeSynced(path.join(tmp, 'metadata.json'), `${JSON.stringify(ckpt.metadata, null, 2)}\n`);
  fsyncDir(tmp);

  if (fs.existsSync(final)) fs.rmSync(final, { recursive: true }); // the same iteration saved again (a resumed run)
  fs.renameSync(tmp, final);
  fsyncDir(root);
  for (const old of listCheckpoints(runDir).slice(0, -keep)) fs.rmSync(old, { recursive: true, force: true });
  return final;
}

/** A run's complete checkpoints, oldest first (half-written temporary folders are not among them). */
export function listCheckpoints(runDir: string): string[] {
  const root = path.join(runDir, 'checkpoints');
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((n) => /^iter_\d+$/.test(n))
    .sort()
    .map((n) => path.join(root, n));
}

export function dropCheckpointsAfter(runDir: string, iteration: number): void {
  for (const dir of listCheckpoints(runDir)) {
    if (Number(path.basename(dir).slice('iter_'.length)) > iteration) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A checkpoint folder from a path that is one, or a run dir (its latest checkpoint). */
export function resolveCheckpoint(p: string): string {
  if (fs.existsSync(path.join(p, 'metadata.json'))) return p;
  if (!fs.existsSync(p)) throw new CheckpointError(`${p}: no such run dir or checkpoint`);
  const all = listCheckpoints(p);
  if (all.length === 0) throw new CheckpointError(`${p}: not a checkpoint, and holds no checkpoints/iter_* folder`);
  return all[all.length - 1];
}

export function readMetadata(dir: string, expect: { algorithm?: string } = {}): CheckpointMetadata {
  const file = path.join(dir, 'metadata.json');
  let meta: CheckpointMetadata;
  try {
    meta = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CheckpointError(`${file}: cannot read checkpoint metadata (${(err as Error).message.split('\n')[0]})`);
  }
  if (meta.formatVersion !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${dir}: checkpoint format ${meta.formatVersion} (written by version ${meta.packageVersion}); this version reads format ${CHECKPOINT_FORMAT}`);
  }
  if (expect.algorithm !== undefined && meta.algorithm !== expect.algorithm) {
    throw new CheckpointError(`${dir}: checkpoint of algorithm "${meta.algorithm}", but the config trains "${expect.algorithm}"`);
  }
  return meta;
}

export function loadCheckpoint(dir: string, expect: { algorithm?: string } = {}): Checkpoint {
  const metadata = readMetadata(dir, expect);
  try {
    const index: { name: string; shape: number[]; offset: number }[] = JSON.parse(fs.readFileSync(path.join(dir, 'tensors.json'), 'utf8'));
    const buf = fs.readFileSync(path.join(dir, 'tensors.bin'));
    const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const tensors: NamedTensor[] = index.map((e) => {
      const size = e.shape.reduce((a, b) => a * b, 1);
      if (e.offset + size > all.length) throw new Error(`tensor ${e.name} runs past the end of tensors.bin`);
      return { name: e.name, shape: e.shape, data: all.slice(e.offset, e.offset + size) };
    });
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
    return { dir, metadata, algorithm: { tensors, json: state.algorithm }, runtime: state.runtime };
  } catch (err) {
    throw new CheckpointError(`${dir}: damaged checkpoint (${(err as Error).message.split('\n')[0]})`);
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

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
