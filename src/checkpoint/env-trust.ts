import * as path from 'node:path';
import { EnvError } from '../../core/errors';
import { moduleEnvId, parseModuleRef, trustedEnvId } from '../env-loader';

/** Where an env id came from that the user did not give on this command line, and who asks. */
export interface EnvSource {
  /** The checkpoint, or the run dir's config file, that names the env. */
  source: string;
  /** The command that would load it: `rl evaluate`, `rl train --resume`, `rl view`. */
  command: string;
  /** The user's `--env-dir` folders, resolved (resolveEnvDir). */
  envDirs: readonly string[];
  /** Told which file is loaded, when it is a module. */
  log: (line: string) => void;
}

/**
 * The one trust rule for an env named by a file rather than by the user's own command line: a
 * checkpoint's metadata (`rl evaluate`, `rl train --resume` without --config, `rl view`) or a
 * run dir's config.yaml (`rl view`). A registered id is data and passes as it is. A module env
 * is code, and a downloaded checkpoint or run dir could name any file on this disk, so it is
 * loaded only from inside a directory the user names with --env-dir: the file at the path the
 * source names, if it is inside one, else a file of the same name directly in one. Returns the
 * env id to load; throws an EnvError naming the module, the source and the flag; loads nothing.
 * (`rl export` needs only the env's spaces, which the metadata holds: it never loads env code.
 * `rl train --resume auto` runs the env its --config names; the checkpoint must name the same.)
 */
export function trustedSourceEnvId(envId: string, from: EnvSource): string {
  const ref = parseModuleRef(envId);
  if (!ref) return envId;
  const candidates = [ref.file, ...from.envDirs.map((d) => path.join(d, path.basename(ref.file)))];
  for (const file of candidates) {
    try {
      const id = trustedEnvId(moduleEnvId(file, ref.name), { envDirs: from.envDirs }, '');
      const names = path.basename(from.source) === 'config.yaml' ? from.source : `${from.source}'s metadata`;
      from.log(`loading env module ${parseModuleRef(id)!.file} (export ${ref.name}), as ${names} names ${ref.file}`);
      return id;
    } catch {
      // not there, or not inside an allowed dir: the next candidate
    }
  }
  throw new EnvError(
    `${from.source}: its env is code, the module ${ref.file} (export ${ref.name}); ${from.command} loads it only from a directory you name: ` +
      `--env-dir DIR, the folder that holds ${ref.file} or your copy of ${path.basename(ref.file)}${from.envDirs.length ? ` (not found in ${from.envDirs.join(', ')})` : ''}`,
  );
}

/** `trustedSourceEnvId` applied to a validated config's env, its `module` kept in step (a config validated again derives `id` from it). */
export function trustSourceEnv(env: { id: string; module?: string }, from: EnvSource): void {
  env.id = trustedSourceEnvId(env.id, from);
  const ref = parseModuleRef(env.id);
  if (ref && env.module !== undefined) env.module = ref.file;
}
