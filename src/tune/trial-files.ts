import * as fs from 'node:fs';
import * as path from 'node:path';
import { discard, listCheckpoints, verifyCheckpoint } from '../checkpoint';
import { MAX_FILE_CHUNK_BYTES, type CheckpointFiles } from './agent-protocol';

/*
 * A trial's files as they travel between a tuner and an agent: a checkpoint folder packed and
 * unpacked whole, and a growing file (progress.jsonl, a log) sent as byte ranges.
 */

/** The newest intact checkpoint of `runDir`, packed, or undefined when it has none. */
export function packNewestCheckpoint(runDir: string, after?: string): CheckpointFiles | undefined {
  for (const dir of [...listCheckpoints(runDir)].reverse()) {
    if (after !== undefined && path.basename(dir) <= after) return undefined;
    try {
      verifyCheckpoint(dir);
    } catch {
      continue; // damaged, or pruned while we looked: an older one
    }
    const files: Record<string, Uint8Array> = {};
    try {
      for (const name of fs.readdirSync(dir)) files[name] = fs.readFileSync(path.join(dir, name));
    } catch {
      continue;
    }
    return { name: path.basename(dir), files };
  }
  return undefined;
}

/** Writes a checkpoint into `runDir/checkpoints/<name>` (a temporary folder renamed into place); keeps the newest `keep`. */
export function unpackCheckpoint(runDir: string, c: CheckpointFiles, keep = 2): string {
  const root = path.join(runDir, 'checkpoints');
  const final = path.join(root, c.name);
  const tmp = path.join(root, `.tmp-${c.name}-recv-${process.pid}`);
  fs.mkdirSync(root, { recursive: true });
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  // metadata.json last: a folder with it is complete.
  for (const name of Object.keys(c.files).sort((a, b) => Number(a === 'metadata.json') - Number(b === 'metadata.json'))) {
    fs.writeFileSync(path.join(tmp, path.basename(name)), c.files[name]);
  }
  if (fs.existsSync(final)) discard(root, final);
  fs.renameSync(tmp, final);
  for (const old of listCheckpoints(runDir).slice(0, -keep)) discard(root, old);
  return final;
}

/** Writes `data` into `file` at `offset`, cutting off whatever stood there past it. */
export function writeAt(file: string, offset: number, data: Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w');
  try {
    fs.ftruncateSync(fd, Math.min(offset, fs.fstatSync(fd).size));
    fs.writeSync(fd, data, 0, data.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A file another process writes, followed: `next()` gives what changed since the last call as
 * a byte range (offset and bytes). A file rewritten shorter or changed in place (a resumed run
 * cuts its progress.jsonl back to its checkpoint) is sent again from where it first differs.
 */
export class FileFollower {
  private sent = Buffer.alloc(0);

  constructor(readonly file: string) {}

  next(): { offset: number; data: Buffer } | undefined {
    let now: Buffer;
    try {
      now = fs.readFileSync(this.file);
    } catch {
      return undefined;
    }
    let same = 0;
    const n = Math.min(now.length, this.sent.length);
    if (now.subarray(0, n).equals(this.sent.subarray(0, n))) same = n;
    else while (same < n && now[same] === this.sent[same]) same++;
    if (same === now.length && same === this.sent.length) return undefined;
    const data = now.subarray(same, same + MAX_FILE_CHUNK_BYTES);
    this.sent = Buffer.concat([this.sent.subarray(0, same), data]);
    return { offset: same, data };
  }
}

/** A run config's env as a checkpoint's metadata names it. */
export interface EnvNames {
  id: string;
  module?: string;
  export?: string;
}

/**
 * The checkpoint with its env named as `env` (metadata.json's envId and config.env): a module
 * env's code lies at another path on each machine (an agent's bundle of it, the tuner's own
 * file), and a resumed run must name the env its checkpoint does. metadata.json is not among the
 * checksummed files; the env's own config is kept.
 */
export function relocateEnv(c: CheckpointFiles, env: EnvNames): CheckpointFiles {
  const raw = c.files['metadata.json'];
  if (!raw) return c;
  const meta = JSON.parse(Buffer.from(raw).toString('utf8')) as { envId?: string; config?: { env?: Record<string, unknown> } };
  meta.envId = env.id;
  if (meta.config?.env) meta.config.env = { ...meta.config.env, id: env.id, module: env.module, export: env.export };
  return { ...c, files: { ...c.files, 'metadata.json': Buffer.from(`${JSON.stringify(meta, null, 2)}\n`) } };
}
