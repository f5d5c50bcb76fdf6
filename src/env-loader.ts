import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Env, EnvFactory } from '../envs/env';
import { listEnvs, makeEnv, makeMultiAgentEnv, withClose } from '../envs/registry';
import { isMultiAgentEnv, type MultiAgentEnv } from '../envs/multi-agent';
import { wrappedEnv } from '../envs/wrappers';
import { EnvError } from '../core/errors';

/**
 * Environments named by a config: a registered id (`CartPole-v1`), or a module of the user's,
 * TypeScript or JavaScript, loaded at run time without a build step (TypeScript through tsx).
 * A module env travels to workers as one string, `/abs/path/my-env.ts:MyEnv`: the file, then
 * the export (a class or a factory) or an id the module registers with `registerEnv`.
 */
export function moduleEnvId(file: string, exportName: string): string {
  return `${path.resolve(file)}:${exportName}`;
}

/**
 * A module env id as this machine can load it: the learner's own path where the file is
 * there (spawned workers, a shared disk), else the same path relative to this process's
 * working directory as the file is to the learner's (another clone of the same project).
 */
export function localEnvId(envId: string, learnerDir: string): string {
  const ref = parseModuleRef(envId);
  if (!ref || fs.existsSync(ref.file)) return envId;
  const relative = path.relative(learnerDir, ref.file);
  const local = path.resolve(relative);
  if (relative.startsWith('..') || path.isAbsolute(relative) || !fs.existsSync(local)) {
    throw new EnvError(
      `env module ${ref.file} is not on this machine${relative.startsWith('..') || path.isAbsolute(relative) ? '' : `, nor at ${local}`} ` +
        `(a worker looks for it at the same path relative to its working directory as to the learner's, ${learnerDir})`,
    );
  }
  return moduleEnvId(local, ref.name);
}

/**
 * Builds the env a config's `env.id` names, with `config`; its key `wrappers`, if there, is not
 * the env's: the observation wrappers (envs/wrappers.ts) put around it, in order.
 */
export function createEnv(envId: string, config: Record<string, unknown> = {}): Env {
  return wrappedEnv(envId, config, (own) => bareEnv(envId, own));
}

function bareEnv(envId: string, config: Record<string, unknown>): Env {
  const ref = parseModuleRef(envId);
  if (!ref) return makeEnv(envId, config);
  const mod = loadModule(ref.file);
  if (listEnvs().some((s) => s.id === ref.name)) return makeEnv(ref.name, config); // the module registered it
  return factoryFrom(mod, ref.file, ref.name)(config);
}

/** `path[:export]` (as `rl check-env` takes it) or a module env id; undefined for a plain registered id. */
export function parseModuleRef(ref: string): { file: string; name: string } | undefined {
  const m = /^(.*\.(?:[cm]?ts|[cm]?js))(?::([^:/\\]+))?$/.exec(ref);
  if (!m) return undefined;
  return { file: path.resolve(m[1]), name: m[2] ?? 'default' };
}

const loaded = new Map<string, Record<string, unknown>>();
const shipped = new Set<string>();

/**
 * Makes `mod`, env code the learner shipped and this process already evaluated
 * (env-code/cache.ts `loadShippedModule`), the module at `file` (its cache file): `createEnv`
 * on a module env id naming `file` then builds from it, without loading anything.
 */
export function registerShippedModule(file: string, mod: Record<string, unknown>): void {
  loaded.set(path.resolve(file), mod);
  shipped.add(path.resolve(file));
}

/** Whether `file` is a module registered with `registerShippedModule` (a worker runs each shipped module once). */
export function isShippedModule(file: string): boolean {
  return shipped.has(path.resolve(file));
}

function loadModule(file: string): Record<string, unknown> {
  const cached = loaded.get(file);
  if (cached) return cached;
  if (!fs.existsSync(file)) throw new EnvError(`env module ${file}: no such file`);
  let mod: Record<string, unknown>;
  try {
    // tsx compiles TypeScript on the fly; plain JavaScript goes through it unchanged.
    const tsx = require('tsx/cjs/api') as { require: (id: string, from: string) => unknown };
    mod = tsx.require(file, __filename) as Record<string, unknown>;
  } catch (err) {
    throw new EnvError(`env module ${file} failed to load: ${(err as Error).message.split('\n')[0]}`);
  }
  loaded.set(file, mod);
  return mod;
}

/**
 * Builds the multi-agent env a config's `env.id` names: a registered multi-agent id
 * (`ConnectFour-v0`), or a module whose export (a class or a factory) builds a `MultiAgentEnv`.
 */
export function createMultiAgentEnv(envId: string, config: Record<string, unknown> = {}): MultiAgentEnv {
  const ref = parseModuleRef(envId);
  if (!ref) return makeMultiAgentEnv(envId, config);
  const env = builderFrom(loadModule(ref.file), ref.file, ref.name)(config);
  if (!isMultiAgentEnv(env)) throw new EnvError(`env module ${ref.file}: "${ref.name}" did not build a MultiAgentEnv (possibleAgents, acting, agents, reset, step)`);
  if (typeof env.close !== 'function') env.close = () => {}; // optional for an env of yours, as withClose has it
  return env;
}

function factoryFrom(mod: Record<string, unknown>, file: string, name: string): EnvFactory {
  const build = builderFrom(mod, file, name);
  return (config) => {
    const env = build(config) as Env;
    if (isMultiAgentEnv(env)) throw new EnvError(`env module ${file}: "${name}" builds a multi-agent env: train it with a multiAgent: section in the config (docs/multi-agent.md); rl check-env checks it`);
    if (!env || typeof env.reset !== 'function' || typeof env.step !== 'function' || !env.observationSpace || !env.actionSpace) {
      throw new EnvError(`env module ${file}: "${name}" did not build an Env (reset, step, observationSpace, actionSpace)`);
    }
    return withClose(env);
  };
}

/** What the module's export builds, unchecked: `new` for a class, a call for a factory. */
function builderFrom(mod: Record<string, unknown>, file: string, name: string): (config: Record<string, unknown>) => unknown {
  const exported = name === 'default' ? (mod.default ?? mod) : mod[name];
  if (typeof exported !== 'function') {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new EnvError(`env module ${file} has no export "${name}" that is a class or a factory; it exports: ${names.join(', ') || 'nothing callable'}`);
  }
  const fn = exported as (...args: unknown[]) => unknown;
  const isClass = /^class\b/.test(Function.prototype.toString.call(fn)) || typeof (fn.prototype as { step?: unknown } | undefined)?.step === 'function';
  return (config) => (isClass ? new (fn as unknown as new (c: unknown) => unknown)(config) : fn(config));
}

/**
 * Who may say which code a process loads as an env. A module env is code: a worker loads one
 * only from inside a directory its owner allowed (`rl worker --env-dir DIR`; a spawned
 * worker gets its learner's module dir), and `rl evaluate` only from one the user names.
 * Code the learner ships is another path, with its own rule (env-code/source.ts).
 */
export interface EnvTrust {
  envDirs: readonly string[];
}

/**
 * `envId` as it may be loaded here: a registered id as it is; a module's file, after
 * symlinks are resolved, only inside one of `trust.envDirs`. Throws an EnvError that names
 * the file and the rule; loads nothing.
 */
export function trustedEnvId(envId: string, trust: EnvTrust, asker: string): string {
  const ref = parseModuleRef(envId);
  if (!ref) return envId;
  const real = fs.existsSync(ref.file) ? fs.realpathSync(ref.file) : undefined;
  const inside = real !== undefined && trust.envDirs.some((d) => isInside(real, d));
  if (!inside) {
    const dirs = trust.envDirs.length > 0 ? `the allowed ones (${trust.envDirs.join(', ')})` : 'any allowed one (none is: give --env-dir DIR)';
    throw new EnvError(`${asker} env module ${ref.file}${real && real !== ref.file ? ` (${real})` : ''}, which is not inside ${dirs}; an env module is code, loaded only from a directory its owner names with --env-dir`);
  }
  return moduleEnvId(real, ref.name);
}

/** `dir` with its symlinks resolved; an EnvError naming it when it is not a directory. */
export function resolveEnvDir(dir: string): string {
  let real: string;
  try {
    real = fs.realpathSync(path.resolve(dir));
  } catch {
    throw new EnvError(`--env-dir ${dir}: no such directory`);
  }
  if (!fs.statSync(real).isDirectory()) throw new EnvError(`--env-dir ${dir}: not a directory`);
  return real;
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}
