import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { PACKAGE_NAME, packageRoot } from '../env-code/framework';
import { moduleEnvId, parseModuleRef } from '../env-loader';
import type { ShippedTrialCode } from './agent-protocol';
import type { EnvNames } from './trial-files';

/*
 * A module env's code on an agent (`rl tune-agent --accept-code`): the tuner's bundle kept by
 * its sha256, and a trial's config pointed at it.
 */

/**
 * A tuner's shipped bundle as a file Node loads: WORK/code/<sha256>/<file>.cjs, its sha256 checked,
 * beside WORK/code/node_modules/rl-zmq (this agent's own framework, which the bundle requires).
 */
export function storeShippedCode(workDir: string, code: ShippedTrialCode, log: (line: string) => void): string | undefined {
  const got = createHash('sha256').update(code.source).digest('hex');
  if (got !== code.sha256) {
    log(`tune-agent: shipped env code ${code.file}: its bytes hash to ${got.slice(0, 12)}, not ${code.sha256.slice(0, 12)}; refused`);
    return undefined;
  }
  const root = path.join(workDir, 'code');
  const framework = path.join(root, 'node_modules', PACKAGE_NAME);
  if (!fs.existsSync(framework)) {
    fs.mkdirSync(path.dirname(framework), { recursive: true });
    fs.symlinkSync(packageRoot(), framework);
  }
  const file = path.join(root, code.sha256, `${code.file.replace(/\.[cm]?[jt]s$/, '')}.cjs`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(`${file}.tmp`, code.source);
    fs.renameSync(`${file}.tmp`, file);
  }
  return file;
}

/** A trial config (YAML) whose module env is the shipped bundle at `file` (its export kept), and the env as it names it. */
export function withShippedEnv(configYaml: string, file: string): { yaml: string; env: EnvNames } {
  const config = parseYaml(configYaml) as { env: { id?: string; module?: string; export?: string } };
  const name = config.env.export ?? parseModuleRef(config.env.id ?? '')?.name ?? 'default';
  const env = { id: moduleEnvId(file, name), module: file, export: name };
  Object.assign(config.env, env);
  return { yaml: stringify(config), env };
}
