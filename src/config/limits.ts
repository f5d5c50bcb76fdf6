import { ConfigError } from '../../core/errors';

/**
 * Bounds on what a config may be, checked before anything is built from it: a typo or a
 * hostile file is a one-line ConfigError, not minutes of parsing or a crash later.
 */

/** The largest config file read: 1 MiB (the shipped ones are under 2 KiB). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * yaml's `maxAliasCount`: how many times an anchor's contents may be copied out by aliases
 * (yaml counts nested aliases multiplied), so that a "billion laughs" file stays small.
 */
export const MAX_ALIAS_COUNT = 100;
/** Aliases (`*name`) in one config, at most: yaml resolves each by a scan of the anchors before it. */
export const MAX_ALIASES = 1000;

/**
 * `env.config` travels to every worker inside its `welcome` (src/transport/protocol.ts), whose
 * decoder allows 12 levels of containers (the config sits at level 2: setup.envConfig) and
 * 100,000 entries besides a Box space's bounds, and msgpackr writes no map of more than 65,535
 * keys. The bounds here keep well inside those: at most 10,000 entries (keys and list items,
 * every level together), containers at most 8 levels below `env.config`, and at most 1 MiB of
 * keys and strings.
 */
export const MAX_ENV_CONFIG_ENTRIES = 10_000;
export const MAX_ENV_CONFIG_DEPTH = 8;
export const MAX_ENV_CONFIG_STRING_BYTES = 1024 * 1024;

/**
 * Throws a ConfigError (at `where`) when `envConfig` passes a bound above, or holds something
 * other than plain data (null, booleans, numbers, strings, arrays and plain objects). Stops at
 * the first bound passed, so its cost is bounded too.
 */
export function checkEnvConfig(envConfig: Record<string, unknown>, where: string): void {
  let entries = 0;
  let stringBytes = 0;
  const fail = (rule: string) => {
    throw new ConfigError(`${where}: env.config ${rule}`);
  };
  const walk = (v: unknown, p: string, depth: number): void => {
    if (typeof v === 'string') {
      stringBytes += Buffer.byteLength(v);
      if (stringBytes > MAX_ENV_CONFIG_STRING_BYTES) fail(`holds more than ${MAX_ENV_CONFIG_STRING_BYTES} bytes of keys and strings (at ${p}), the most a worker's welcome may carry`);
      return;
    }
    if (v === null || typeof v === 'number' || typeof v === 'boolean') return;
    const plain = typeof v === 'object' && (Array.isArray(v) || [Object.prototype, null].includes(Object.getPrototypeOf(v)));
    if (!plain) fail(`holds ${typeof v === 'object' ? (v.constructor?.name ?? 'an object') : typeof v} at ${p}: only null, booleans, numbers, strings, lists and mappings travel to workers`);
    if (depth > MAX_ENV_CONFIG_DEPTH) fail(`nests lists and mappings more than ${MAX_ENV_CONFIG_DEPTH} levels deep (at ${p}), the most a worker's welcome may carry`);
    const items = Array.isArray(v) ? v.entries() : Object.entries(v as object);
    for (const [k, x] of items) {
      entries += 1;
      if (entries > MAX_ENV_CONFIG_ENTRIES) fail(`has more than ${MAX_ENV_CONFIG_ENTRIES} entries (keys and list items, every level together), the most a worker's welcome may carry`);
      if (typeof k === 'string') walk(k, p, depth);
      walk(x, Array.isArray(v) ? `${p}[${k}]` : `${p}.${k}`, depth + 1);
    }
  };
  walk(envConfig, 'env.config', 0);
}
