import { Rng } from '../../core/rng';
import { ConfigError } from '../../core/errors';
import { describeValue, validateConfig } from '../config/load';
import type { RunConfig } from '../config/schema';

/**
 * A search space: one dimension per dotted key of the training config (`ppo.lr`,
 * `model.hiddenSizes`), each a distribution to draw from or a list to enumerate:
 *
 * - `choice: [a, b, c]`: one of the values, uniformly at random;
 * - `grid: [a, b, c]`: every value, in turn (the trials run the cartesian product of all grid
 *   dimensions, the random ones drawn afresh for each);
 * - `uniform: [low, high]`: a float in [low, high);
 * - `loguniform: [low, high]`: a float whose log is uniform (low > 0);
 * - `int: [low, high]`: a whole number from low to high, both included.
 */
export type Dimension =
  | { key: string; kind: 'choice' | 'grid'; values: unknown[] }
  | { key: string; kind: 'uniform' | 'loguniform' | 'int'; low: number; high: number };

/** The kinds of dimension, as a tune file names them. */
export const DIMENSION_KINDS = ['choice', 'grid', 'uniform', 'loguniform', 'int'] as const;

/** One trial's values, by dotted key. */
export type Params = Record<string, unknown>;

/**
 * The dimensions of a tune file's `space:` mapping, each checked for its form (`where` names the
 * file): a kind this knows, a non-empty list, numeric bounds with low < high (low > 0 for
 * loguniform, whole numbers for int).
 */
export function parseSpace(raw: unknown, where: string): Dimension[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`${where}: space (${describeValue(raw)}) must be a mapping of dotted config keys to { choice | grid | uniform | loguniform | int: ... }`);
  return Object.entries(raw as Record<string, unknown>).map(([key, spec]) => parseDimension(key, spec, where));
}

function parseDimension(key: string, spec: unknown, where: string): Dimension {
  const at = `${where}: space.${key}`;
  const entries = spec && typeof spec === 'object' && !Array.isArray(spec) ? Object.entries(spec) : [];
  if (entries.length !== 1 || !(DIMENSION_KINDS as readonly string[]).includes(entries[0][0])) {
    throw new ConfigError(`${at} (${describeValue(spec)}) must be one of { choice: [...] }, { grid: [...] }, { uniform: [low, high] }, { loguniform: [low, high] }, { int: [low, high] }`);
  }
  const [kind, arg] = entries[0] as [Dimension['kind'], unknown];
  if (kind === 'choice' || kind === 'grid') {
    if (!Array.isArray(arg) || arg.length === 0) throw new ConfigError(`${at}.${kind} (${describeValue(arg)}) must be a non-empty list of values`);
    return { key, kind, values: arg };
  }
  const bounds = Array.isArray(arg) && arg.length === 2 && arg.every((x) => typeof x === 'number' && Number.isFinite(x)) ? (arg as number[]) : undefined;
  if (!bounds || bounds[0] >= bounds[1]) throw new ConfigError(`${at}.${kind} (${describeValue(arg)}) must be [low, high], two finite numbers with low < high`);
  if (kind === 'loguniform' && bounds[0] <= 0) throw new ConfigError(`${at}.loguniform (${describeValue(arg)}) must have low > 0 (its log is drawn uniformly)`);
  if (kind === 'int' && !bounds.every(Number.isSafeInteger)) throw new ConfigError(`${at}.int (${describeValue(arg)}) must be [low, high], two whole numbers`);
  return { key, kind, low: bounds[0], high: bounds[1] };
}

/** One value of a random dimension (a grid dimension is enumerated, not drawn). */
export function draw(dim: Dimension, rng: Rng): unknown {
  switch (dim.kind) {
    case 'choice':
    case 'grid':
      return dim.values[rng.int(dim.values.length)];
    case 'uniform':
      return rng.uniform(dim.low, dim.high);
    case 'loguniform':
      return Math.exp(rng.uniform(Math.log(dim.low), Math.log(dim.high)));
    case 'int':
      return dim.low + rng.int(dim.high - dim.low + 1);
  }
}

/** The cartesian product of the grid dimensions, first key slowest; one empty point when there are none. */
export function gridPoints(space: Dimension[]): Params[] {
  let points: Params[] = [{}];
  for (const dim of space) {
    if (dim.kind !== 'grid') continue;
    points = points.flatMap((p) => dim.values.map((v) => ({ ...p, [dim.key]: v })));
  }
  return points;
}

/**
 * The values of `trials` trials: trial i takes grid point i mod (number of points) and draws its
 * random dimensions from one generator seeded by `seed`, in trial order, so the same tune file
 * and seed give the same trials (a resumed sweep depends on it).
 */
export function sampleTrials(space: Dimension[], trials: number, seed: number): Params[] {
  const rng = new Rng(seed);
  const grid = gridPoints(space);
  return Array.from({ length: trials }, (_, i) => {
    const params: Params = {};
    for (const dim of space) params[dim.key] = dim.kind === 'grid' ? grid[i % grid.length][dim.key] : draw(dim, rng);
    return params;
  });
}

/** `config` with `params` set at their dotted keys (a copy; missing sections are created). */
export function withParams(config: RunConfig | Record<string, unknown>, params: Params): Record<string, unknown> {
  const out = structuredClone(config) as Record<string, unknown>;
  for (const [key, value] of Object.entries(params)) {
    const parts = key.split('.');
    let node = out;
    for (const k of parts.slice(0, -1)) {
      if (node[k] === undefined || node[k] === null || typeof node[k] !== 'object') node[k] = {};
      node = node[k] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]] = structuredClone(value);
  }
  return out;
}

/**
 * Checks the space against the training schema before anything runs: each dimension's values
 * (a list's every value; a range's ends and middle) set into `base` alone must make a valid
 * training config. The error names the dimension, the value and the schema's rule.
 */
export function checkSpace(space: Dimension[], base: RunConfig, where: string): void {
  const forbidden = space.find((d) => d.key.split('.').some((k) => ['__proto__', 'constructor', 'prototype', ''].includes(k)));
  if (forbidden) throw new ConfigError(`${where}: space.${forbidden.key}: not a config key path (an empty part, or __proto__/constructor/prototype)`);
  for (const dim of space) {
    const probes = 'values' in dim ? dim.values : [dim.low, dim.kind === 'int' ? Math.round((dim.low + dim.high) / 2) : (dim.low + dim.high) / 2, dim.high];
    for (const value of probes) checkParams(base, { [dim.key]: value }, `${where}: space.${dim.key} (${dim.kind} ${describeValue('values' in dim ? dim.values : [dim.low, dim.high])}): the value ${describeValue(value)}`);
  }
}

/** The training config of `params` set into `base`, validated; a refusal is a ConfigError that begins with `what`. */
export function checkParams(base: RunConfig | Record<string, unknown>, params: Params, what: string): RunConfig {
  try {
    return validateConfig(withParams(base, params));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(`${what} is refused by the training schema: ${err.message.replace(/^config: /, '')}`);
  }
}
