import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * How shipped env code names this framework. A bundle never carries the framework: every
 * import of it becomes `rl-zmq` or `rl-zmq/<path>`, a path into the framework's compiled tree
 * without `dist/` or an extension (`rl-zmq/core/spaces`), which the worker maps to its own
 * copy, so the env's `Box` is the worker's `Box`.
 */
export const PACKAGE_NAME = 'rl-zmq';

/** The framework's own folders; anything else in the package (examples/, test/, node_modules/) is the user's. */
export const FRAMEWORK_DIRS = ['core', 'envs', 'algorithms', 'src'];

/** The package root: the nearest folder above this file whose package.json is this package's, symlinks resolved. */
export function packageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown };
      if (pkg.name === PACKAGE_NAME) return fs.realpathSync(dir);
    } catch {
      // no package.json here, or not JSON: one folder up
    }
    if (path.dirname(dir) === dir) throw new Error(`${PACKAGE_NAME}: no package.json named ${PACKAGE_NAME} above ${__dirname}`);
  }
}

/**
 * The folder that holds the running framework's core/, envs/, src/...: `dist/` when running
 * compiled, the package root under tsx. `rl-zmq/<path>` resolves inside it.
 */
export function frameworkTree(): string {
  return path.resolve(__dirname, '..', '..');
}

/**
 * `rl-zmq` or `rl-zmq/<path>` for a path relative to the package root (`dist/src/index.js`,
 * `core/spaces.ts`), or undefined when that path is not in the framework's own folders.
 */
export function frameworkSpecifier(relative: string): string | undefined {
  const parts = relative.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (parts[0] === 'dist') parts.shift();
  if (parts.length < 2 || !FRAMEWORK_DIRS.includes(parts[0]) || parts.includes('..')) return undefined;
  parts[parts.length - 1] = parts[parts.length - 1].replace(/\.(?:d\.)?[cm]?[tj]s$/, '');
  const logical = parts.join('/');
  // The package's exports map `rl-zmq/<path>` to dist/<path>.js (so a learner that loads a bundle through Node resolves it too).
  return logical === 'src/index' ? PACKAGE_NAME : `${PACKAGE_NAME}/${logical}`;
}
