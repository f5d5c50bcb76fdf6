import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build, type Message, type Metafile, type Plugin } from 'esbuild';
import { ConfigError } from '../../core/errors';
import { MAX_ENV_CODE_BYTES } from '../transport/limits';
import { PACKAGE_NAME, frameworkSpecifier, packageRoot } from './framework';

/** An env module bundled into one CommonJS file, as the learner ships it to workers. */
export interface EnvBundle {
  /** Hex sha256 of `source`: the bundle's name on the wire and in a worker's cache. */
  sha256: string;
  source: Buffer;
  /** The entry module, absolute. */
  file: string;
  bytes: number;
}

/**
 * Bundles the env module `file` (TypeScript or JavaScript) with its local imports and npm
 * dependencies into one CommonJS file for Node 20, with esbuild. The framework itself stays
 * out: `rl-zmq`, `rl-zmq/...` and any path into the framework's folders become `require("rl-zmq")`
 * or `require("rl-zmq/<path>")`, which the worker maps to its own copy. The output names files
 * only relative to the entry's folder, so the same files give the same sha256.
 * A ConfigError, at once, for a native-addon dependency, a bundle over `maxBytes`, or any
 * other esbuild error (its first one, file:line).
 */
export async function bundleEnvModule(file: string, opts: { maxBytes?: number } = {}): Promise<EnvBundle> {
  const entry = path.resolve(file);
  const maxBytes = opts.maxBytes ?? MAX_ENV_CODE_BYTES;
  if (!fs.existsSync(entry)) throw new ConfigError(`env module ${entry}: no such file`);
  const workDir = path.dirname(fs.realpathSync(entry));
  let result;
  try {
    result = await build({
      entryPoints: [entry],
      absWorkingDir: workDir,
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      keepNames: true,
      logLevel: 'silent',
      plugins: [frameworkExternal(), nativeAddons(entry)],
    });
  } catch (err) {
    const first = (err as { errors?: Message[] }).errors?.[0];
    if (!first) throw new ConfigError(`env module ${entry} does not bundle: ${(err as Error).message.split('\n')[0]}`);
    const loaderless = /^No loader is configured for "\.node" files: (.+)$/.exec(first.text);
    if (loaderless) throw nativeAddonError(entry, path.resolve(workDir, loaderless[1]));
    if (first.pluginName === 'rl-zmq-native-addons') throw new ConfigError(first.text);
    const where = first.location ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: ` : '';
    throw new ConfigError(`env module ${entry} does not bundle: ${where}${first.text.split('\n')[0]}`);
  }
  const inputs = Object.keys(result.metafile.inputs).map((p) => path.resolve(workDir, p));
  for (const input of inputs) {
    const pkg = packageOf(input);
    if (pkg && nativeReason(pkg.dir)) throw nativeAddonError(entry, input);
  }
  const source = Buffer.from(result.outputFiles[0].contents);
  if (source.length > maxBytes) {
    throw new ConfigError(
      `env module ${entry}: its bundle is ${size(source.length)}, over the limit of ${size(maxBytes)}; ` +
        `the largest inputs: ${largestInputs(result.metafile, 3)} (install big dependencies on the workers and use --env-dir instead)`,
    );
  }
  return { sha256: createHash('sha256').update(source).digest('hex'), source, file: entry, bytes: source.length };
}

/** Leaves the framework out of the bundle, named as `rl-zmq[/<path>]` whichever way it was imported. */
function frameworkExternal(): Plugin {
  const root = packageRoot();
  return {
    name: 'rl-zmq-external',
    setup(b) {
      b.onResolve({ filter: /^rl-zmq(?:\/|$)/ }, (args) => {
        const rest = args.path.slice(PACKAGE_NAME.length + 1);
        return { path: rest === '' ? PACKAGE_NAME : (frameworkSpecifier(rest) ?? args.path), external: true };
      });
      // Only a relative or absolute path can land in the framework's folders (a bare name is a package).
      b.onResolve({ filter: /^(?:\.|\/|[A-Za-z]:[\\/])/ }, async (args) => {
        if (args.kind === 'entry-point' || args.pluginData === 'rl-zmq-inner') return undefined;
        const r = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'rl-zmq-inner' });
        if (r.errors.length > 0 || r.external || !r.path) return undefined; // esbuild reports it
        const rel = path.relative(root, r.path);
        if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
        const spec = frameworkSpecifier(rel);
        return spec ? { path: spec, external: true } : undefined;
      });
    },
  };
}

/** A `.node` file, however it was reached, fails the build with the message naming its package. */
function nativeAddons(entry: string): Plugin {
  return {
    name: 'rl-zmq-native-addons',
    setup(b) {
      b.onLoad({ filter: /\.node$/ }, (args) => ({ errors: [{ text: nativeAddonError(entry, args.path).message }] }));
    },
  };
}

function nativeAddonError(entry: string, file: string): ConfigError {
  const pkg = packageOf(file);
  const reason = (pkg && nativeReason(pkg.dir)) ?? `it loads ${path.basename(file)}`;
  const what = pkg ? `its dependency "${pkg.name}"` : `its file ${file}`;
  const fix = pkg ? `install "${pkg.name}" on the workers and load the env from there (rl worker --env-dir DIR), or drop the dependency` : 'load the env from the workers\' disk (rl worker --env-dir DIR), or drop the addon';
  return new ConfigError(`env module ${entry}: ${what} is a native addon (${reason}); shipped env code must be plain JavaScript: ${fix}`);
}

/** The npm package a file belongs to: the last `node_modules/<name>` (or `@scope/name`) on its path. */
function packageOf(file: string): { name: string; dir: string } | undefined {
  const parts = file.split(path.sep);
  const i = parts.lastIndexOf('node_modules');
  if (i < 0 || i + 1 >= parts.length) return undefined;
  const n = parts[i + 1].startsWith('@') ? 2 : 1;
  if (i + n >= parts.length) return undefined;
  return { name: parts.slice(i + 1, i + 1 + n).join('/'), dir: parts.slice(0, i + 1 + n).join(path.sep) };
}

/** Why the package in `dir` is a native addon, or undefined when nothing says it is. */
function nativeReason(dir: string): string | undefined {
  if (fs.existsSync(path.join(dir, 'binding.gyp'))) return 'binding.gyp';
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { gypfile?: unknown };
    if (pkg.gypfile === true) return 'package.json gypfile: true';
  } catch {
    // no readable package.json: nothing says so
  }
  return undefined;
}

function largestInputs(meta: Metafile, n: number): string {
  const output = Object.values(meta.outputs)[0];
  const sizes = Object.entries(output?.inputs ?? {}).map(([p, i]) => [p, i.bytesInOutput] as const);
  sizes.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return sizes.slice(0, n).map(([p, bytes]) => `${p} ${size(bytes, false)}`).join(', ');
}

/** `5.3 KiB (5417 bytes)`, or with `exact` false just `5.3 KiB`. */
function size(bytes: number, exact = true): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const [unit, per] = bytes < 1024 * 1024 ? ['KiB', 1024] : ['MiB', 1024 * 1024];
  return `${(bytes / per).toFixed(1)} ${unit}${exact ? ` (${bytes} bytes)` : ''}`;
}
