import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { isBuiltin } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { EnvError, ProtocolError } from '../../core/errors';
import { SHA256 } from '../transport/protocol';
import { FRAMEWORK_DIRS, PACKAGE_NAME, frameworkTree, packageRoot } from './framework';

/** Where a worker keeps the env code it was sent: `$XDG_CACHE_HOME/rl-zmq/env-code`, else `~/.cache/rl-zmq/env-code`. */
export function defaultCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(base, PACKAGE_NAME, 'env-code');
}

/**
 * A worker's on-disk store of shipped env bundles, one file `<sha256>.js` each. Names come
 * from peers, so each is checked to be 64 lowercase hex digits before it becomes a path;
 * contents are checked against their name on the way in and on the way out (a file that
 * fails is removed and counts as absent).
 */
export class CodeCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  /** The path of bundle `sha256` (present or not). */
  file(sha256: string): string {
    return path.join(this.dir, `${checkedSha(sha256)}.js`);
  }

  has(sha256: string): boolean {
    return this.read(sha256) !== undefined;
  }

  /** Bundle `sha256`'s source, or undefined when absent or (then removed) when its content does not match its name. */
  read(sha256: string): Buffer | undefined {
    const file = this.file(sha256);
    let source: Buffer;
    try {
      source = fs.readFileSync(file);
    } catch {
      return undefined;
    }
    if (sha256Of(source) === sha256) return source;
    fs.rmSync(file, { force: true });
    return undefined;
  }

  /** Stores `source` as bundle `sha256` (a ProtocolError when it is not that hash), atomically; returns its path. */
  write(sha256: string, source: Buffer): string {
    const file = this.file(sha256);
    const actual = sha256Of(source);
    if (actual !== sha256) throw new ProtocolError(`env code ${sha256}: the source sent under that name has sha256 ${actual}; refused`);
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      fs.writeFileSync(tmp, source, { mode: 0o600 });
      fs.renameSync(tmp, file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    return file;
  }
}

function checkedSha(sha256: string): string {
  if (typeof sha256 !== 'string' || !SHA256.test(sha256)) {
    const shown = typeof sha256 === 'string' ? JSON.stringify(sha256.slice(0, 80)) : typeof sha256;
    throw new ProtocolError(`env code name ${shown} is not a sha256 (64 lowercase hex digits); refused`);
  }
  return sha256;
}

function sha256Of(source: Buffer): string {
  return createHash('sha256').update(source).digest('hex');
}

/**
 * Runs a shipped bundle as a CommonJS module in this process's own context (`filename` =
 * `label`, so stack traces name it) and returns its exports. Its `require` gives `rl-zmq` and
 * `rl-zmq/<path>` as this worker's own framework, Node builtins as themselves, and anything
 * else as an EnvError naming it (the learner should have bundled it). A throw while it loads
 * is an EnvError `shipped env code <label> failed to load: <first line>`.
 */
export function loadShippedModule(source: Buffer, label: string): Record<string, unknown> {
  const module = { exports: {} as Record<string, unknown> };
  const shippedRequire = (id: string): unknown => {
    if (id === PACKAGE_NAME) return require('../index') as unknown;
    if (id.startsWith(`${PACKAGE_NAME}/`)) return require(frameworkPath(id.slice(PACKAGE_NAME.length + 1), id, label)) as unknown;
    if (isBuiltin(id)) return require(id) as unknown;
    throw new EnvError(`shipped env code ${label} requires "${id}", which is not in it: the learner bundles every dependency but native addons and the framework`);
  };
  try {
    const fn = vm.compileFunction(source.toString('utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], { filename: label });
    fn.call(module.exports, module.exports, shippedRequire, module, label, path.dirname(label));
  } catch (err) {
    if (err instanceof EnvError) throw err;
    const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new EnvError(`shipped env code ${label} failed to load: ${first}`, { cause: err });
  }
  return module.exports;
}

/** `rl-zmq/<sub>` as a file of this worker's framework; an EnvError for a path that climbs out of it. */
function frameworkPath(sub: string, id: string, label: string): string {
  if (sub === 'package.json') return path.join(packageRoot(), 'package.json');
  const tree = frameworkTree();
  const file = path.resolve(tree, sub);
  const rel = path.relative(tree, file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel) || !FRAMEWORK_DIRS.includes(rel.split(path.sep)[0])) throw new EnvError(`shipped env code ${label} requires "${id}", which is not inside the framework`);
  return file;
}
