import * as fs from 'node:fs';
import * as path from 'node:path';
import { closest } from 'fastest-levenshtein';
import { LineCounter, isAlias, isMap, isScalar, parseDocument, parse as parseYaml, stringify, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { algorithms } from '../../algorithms';
import { ConfigError } from '../../core/errors';
import { describeValue as describe } from '../../core/describe';
import { listEnvs, listMultiAgentEnvs } from '../../envs/registry';
import { moduleEnvId, parseModuleRef } from '../env-loader';
import { MAX_BATCH_STEPS } from '../transport/limits';
import { MAX_ALIASES, MAX_ALIAS_COUNT, MAX_CONFIG_BYTES, checkEnvConfig } from './limits';
import { STOP_KEYS, configSchema, type RunConfig } from './schema';
import { multiAgentIssues } from './multi-agent';

type Path = (string | number)[];

/**
 * Reads a YAML config, applies `--set key.path=value` overrides, validates it and fills in
 * the defaults. Every problem is a ConfigError of one line that names the file (and line),
 * the key path, the value and the rule.
 */
export function loadConfig(file: string, overrides: string[] = []): RunConfig {
  const { raw, where: lineOf } = readYamlMapping(file);
  const overridden = applyOverrides(raw, overrides);
  if (raw.name === undefined) raw.name = path.basename(file).replace(/\.ya?ml$/, '');
  const env = raw.env as Record<string, unknown> | undefined;
  if (env && typeof env.module === 'string' && !path.isAbsolute(env.module)) env.module = path.resolve(path.dirname(file), env.module);
  return validateConfig(raw, (p) => overridden(p) ?? lineOf(p));
}

/**
 * A YAML file that must hold a mapping (a config, a tune file), read with the config's bounds
 * (size, aliases, unique keys), and `where`: file:line of the key at a path, where the YAML has
 * it (else the file).
 */
export function readYamlMapping(file: string): { raw: Record<string, unknown>; where: (p: (string | number)[]) => string } {
  const text = readConfigText(file);
  const lines = new LineCounter();
  // yaml's own duplicate-key check compares each key with every key before it (quadratic: 51,000
  // keys, 1 MB, took 22 s); scanDocument() below does it with a set per mapping.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new ConfigError(`${file}:${lines.linePos(e.pos[0]).line}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const scan = scanDocument(doc);
  if (scan.duplicateKey !== undefined) throw new ConfigError(`${file}:${lines.linePos(scan.duplicateKey).line}: not valid YAML: Map keys must be unique`);
  if (scan.tooManyAliases !== undefined) throw new ConfigError(`${file}:${lines.linePos(scan.tooManyAliases).line}: a config may hold at most ${MAX_ALIASES} aliases (*name)`);
  let raw;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    // yaml names no node; the first alias of an anchor that itself holds aliases is where a bomb starts.
    const at = firstNestedAlias(doc);
    throw new ConfigError(`${file}${at === undefined ? '' : `:${lines.linePos(at).line}`}: not valid YAML: ${err.message} (aliases may copy an anchor's contents at most ${MAX_ALIAS_COUNT} times)`);
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${file}: the config must be a mapping of keys, got ${describeValue(raw)}`);
  const where = (p: Path) => {
    const parent = p.length > 1 ? doc.getIn(p.slice(0, -1), true) : doc.contents;
    const pair = isMap(parent) ? parent.items.find((item) => isScalar(item.key) && item.key.value === p[p.length - 1]) : undefined;
    const range = isScalar(pair?.key) ? pair.key.range : undefined;
    return range ? `${file}:${lines.linePos(range[0]).line}` : file;
  };
  return { raw: raw as Record<string, unknown>, where };
}

/** The config file's text, refused when over MAX_CONFIG_BYTES (before reading it all). */
function readConfigText(file: string): string {
  const tooBig = (bytes: number) => new ConfigError(`${file}: the config is ${bytes} bytes, more than the limit of ${MAX_CONFIG_BYTES} bytes (1 MiB)`);
  let text: Buffer;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_CONFIG_BYTES) throw tooBig(size);
    text = fs.readFileSync(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${file}: cannot read the config (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (text.length > MAX_CONFIG_BYTES) throw tooBig(text.length);
  return text.toString('utf8');
}

/**
 * One pass over the parsed document: where the first key that repeats one before it in the
 * same mapping starts, and where the alias past MAX_ALIASES stands, if any.
 */
function scanDocument(doc: Document): { duplicateKey?: number; tooManyAliases?: number } {
  const found: { duplicateKey?: number; tooManyAliases?: number } = {};
  let aliases = 0;
  visit(doc, {
    Alias(_, alias) {
      if (++aliases <= MAX_ALIASES) return undefined;
      found.tooManyAliases = alias.range?.[0] ?? 0;
      return visit.BREAK;
    },
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const { key } of map.items) {
        if (!isScalar(key)) continue;
        if (seen.has(key.value)) {
          found.duplicateKey = key.range?.[0] ?? 0;
          return visit.BREAK;
        }
        seen.add(key.value);
      }
      return undefined;
    },
  });
  return found;
}

/** Where the first alias stands whose anchor's contents hold an alias themselves (else the first alias), if any. */
function firstNestedAlias(doc: Document): number | undefined {
  const anchors = new Map<string, Node>();
  const holdsAlias = new Map<Node, boolean>();
  let first: number | undefined;
  let nested: number | undefined;
  visit(doc, {
    Node(_, node) {
      if (isAlias(node)) {
        first ??= node.range?.[0] ?? 0;
        const target = anchors.get(node.source);
        if (target && !holdsAlias.has(target)) {
          let found = false;
          visit(target, { Alias: () => ((found = true), visit.BREAK) });
          holdsAlias.set(target, found);
        }
        if (target && holdsAlias.get(target)) {
          nested = node.range?.[0] ?? 0;
          return visit.BREAK;
        }
      } else if (node.anchor) anchors.set(node.anchor, node);
      return undefined;
    },
  });
  return nested ?? first;
}

/** Validates a config object (as `train(config)` takes it); `where` names the source of a key. */
export function validateConfig(raw: Record<string, unknown>, where: (p: Path) => string = () => 'config'): RunConfig {
  const name = raw.algorithm;
  if (typeof name !== 'string' || !(name in algorithms)) {
    const known = Object.keys(algorithms);
    const hint = typeof name === 'string' ? `; did you mean "${closest(name, known)}"?` : '';
    throw new ConfigError(`${where(['algorithm'])}: algorithm (${describeValue(name)}) must be one of ${known.join(', ')}${hint}`);
  }
  const schema = configSchema(name);
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(formatIssue(issue, raw, schema, where));
  }
  const config = result.data as RunConfig;
  const env = config.env as { id?: string; module?: string; export?: string };
  if (env.module !== undefined) {
    // A module env is named by one string that workers can load: /abs/file.ts:Export (or :registered-id).
    const named = env.id !== undefined && parseModuleRef(env.id) === undefined ? env.id : undefined;
    env.id = moduleEnvId(env.module, env.export ?? named ?? parseModuleRef(env.id ?? '')?.name ?? 'default');
  } else if (env.id === undefined) {
    throw new ConfigError(`${where(['env'])}: env needs an id (a registered env, see \`rl envs\`) or a module (your env's file)`);
  }
  checkEnvNamed(env, where, config.multiAgent !== undefined);
  const multi = config.multiAgent ? multiAgentIssues(config.multiAgent) : [];
  if (multi.length > 0) {
    const p = ['multiAgent', ...multi[0].path.split('.')];
    throw new ConfigError(`${where(p)}: ${p.join('.')} ${multi[0].message}`);
  }
  checkEnvConfig(config.env.config, where(['env', 'config']));
  if (!STOP_KEYS.some((k) => config.stop[k] !== undefined)) {
    throw new ConfigError(`${where(['stop'])}: stop must set at least one of ${STOP_KEYS.join(', ')}`);
  }
  if (config.stop.evalReturnMean !== undefined && config.evaluation.every === 0) {
    throw new ConfigError(`${where(['stop', 'evalReturnMean'])}: stop.evalReturnMean needs evaluation.every > 0`);
  }
  if (config.checkpoint.best === true && config.evaluation.every === 0) {
    throw new ConfigError(`${where(['checkpoint', 'best'])}: checkpoint.best (true) needs evaluation.every > 0: the best checkpoint is the best-evaluated policy (set evaluation.every, or checkpoint.best: false)`);
  }
  config.checkpoint.best ??= config.evaluation.every > 0;
  if (config.evaluation.video && config.evaluation.every === 0) {
    throw new ConfigError(`${where(['evaluation', 'video'])}: evaluation.video needs evaluation.every > 0`);
  }
  const algorithm = algorithms[name];
  const w = config.workers;
  if (w.envsPerWorker * w.rolloutLength > MAX_BATCH_STEPS) {
    throw new ConfigError(
      `${where(['workers', 'rolloutLength'])}: workers.envsPerWorker x workers.rolloutLength (${w.envsPerWorker} x ${w.rolloutLength}) must be <= ${MAX_BATCH_STEPS} steps per batch`,
    );
  }
  const issues = algorithm.check(config[name], { totalEnvs: totalEnvs(w), rolloutLength: w.rolloutLength, totalEnvSteps: config.stop.envSteps });
  if (issues.length > 0) {
    const p = [name, ...issues[0].path.split('.')];
    throw new ConfigError(`${where(p)}: ${p.join('.')} ${issues[0].message}`);
  }
  return config;
}

/** Envs sampling in parallel across the run: local mode (`numWorkers: 0`) is one worker's worth. */
export function totalEnvs(w: { numWorkers: number; envsPerWorker: number }): number {
  return Math.max(1, w.numWorkers) * w.envsPerWorker;
}

/**
 * Applies `--set` overrides in order; returns, for a key path, the `--set ...` that gave it its
 * value (the last override at or above it), so that an error names the override, not a line
 * of the file.
 */
export function applyOverrides(raw: Record<string, unknown>, overrides: string[]): (p: Path) => string | undefined {
  const paths = overrides.map((o) => {
    applyOverride(raw, o);
    return { keys: o.slice(0, o.indexOf('=')).split('.'), o };
  });
  return (p) => {
    const hit = [...paths].reverse().find(({ keys }) => keys.length <= p.length && keys.every((k, i) => String(p[i]) === k));
    return hit && `--set ${hit.o}`;
  };
}

/** Key path parts that would reach into Object.prototype instead of the config. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The env a config names must be there before anything starts: a registered id, or a module file that exists. */
function checkEnvNamed(env: { id?: string; module?: string }, where: (p: Path) => string, multiAgent: boolean): void {
  const ref = parseModuleRef(env.id!);
  if (ref) {
    const key = env.module !== undefined ? 'module' : 'id';
    if (!fs.existsSync(ref.file)) throw new ConfigError(`${where(['env', key])}: env.${key} (${describeValue(env[key])}): no such file (${ref.file})`);
    return;
  }
  const ids = (multiAgent ? listMultiAgentEnvs() : listEnvs()).map((s) => s.id);
  if (!ids.includes(env.id!)) {
    throw new ConfigError(`${where(['env', 'id'])}: env.id (${describeValue(env.id)}) is not a registered env; did you mean "${closest(env.id!, ids)}"? (see \`rl envs\`, or name your env's file with env.module)`);
  }
}

/** `key.path=value`, the value read as YAML (so numbers, booleans and lists come out typed). */
export function applyOverride(raw: Record<string, unknown>, override: string): void {
  const eq = override.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set ${override}: expected key.path=value`);
  const keys = override.slice(0, eq).split('.');
  if (keys.some((k) => k === '')) throw new ConfigError(`--set ${override}: the key path has an empty part`);
  const forbidden = keys.find((k) => FORBIDDEN_KEYS.has(k));
  if (forbidden) throw new ConfigError(`--set ${override}: "${forbidden}" is not a config key`);
  let value: unknown;
  try {
    value = parseYaml(override.slice(eq + 1));
  } catch {
    value = override.slice(eq + 1);
  }
  let node: Record<string, unknown> = raw;
  for (const k of keys.slice(0, -1)) {
    if (!Object.hasOwn(node, k) || node[k] === undefined || node[k] === null) node[k] = {};
    if (typeof node[k] !== 'object') throw new ConfigError(`--set ${override}: ${k} is not a section`);
    node = node[k] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

function formatIssue(issue: z.core.$ZodIssue, raw: unknown, schema: z.ZodType, where: (p: Path) => string): string {
  const p = issue.path as Path;
  const key = p.join('.');
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(schema, p);
    const bad = issue.keys[0];
    const full = [...p, bad].join('.');
    const hint = known.length > 0 ? `; did you mean "${closest(bad, known)}"? (expected one of: ${known.join(', ')})` : '';
    return `${where([...p, bad])}: ${full} is not a known key${hint}`;
  }
  const value = getIn(raw, p);
  if (value === undefined && issue.code === 'invalid_type') return `${where(p)}: ${key} is required (${issue.expected})`;
  return `${where(p)}: ${key} (${describeValue(value)}) ${rule(issue, value)}`;
}

function rule(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (typeof value === 'number' && issue.expected === 'number') return 'must be a finite number';
      return `must be ${issue.expected === 'int' ? 'an integer' : /^[aeiou]/.test(issue.expected) ? `an ${issue.expected}` : `a ${issue.expected}`}`;
    case 'too_small':
      return issue.origin === 'array' ? `must have at least ${issue.minimum} element(s)` : `must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'array' ? `must have at most ${issue.maximum} element(s)` : `must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message;
  }
}

/** The keys a (strict) object schema accepts at `p`, looking through defaults and optionals. */
function knownKeys(schema: z.ZodType, p: Path): string[] {
  let s: any = schema;
  for (const k of [...p, null]) {
    while (s?._zod?.def?.innerType) s = s._zod.def.innerType;
    if (k === null) break;
    s = s?.shape?.[k as string];
  }
  return s?.shape ? Object.keys(s.shape) : [];
}

function getIn(obj: unknown, p: Path): unknown {
  return p.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

/** A config value for an error message: `missing` where there is none. */
export function describeValue(v: unknown): string {
  return v === undefined ? 'missing' : describe(v);
}

/** The resolved config as YAML, as written to the run dir. */
export function configToYaml(config: RunConfig): string {
  return stringify(config);
}
