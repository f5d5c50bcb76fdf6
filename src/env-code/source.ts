import * as path from 'node:path';
import { localEnvId, parseModuleRef, trustedEnvId, type EnvTrust } from '../env-loader';
import type { ShippedCode, WorkerSetup } from '../transport/protocol';

/** What a worker does about the env a setup names: where its code comes from, or why it refuses. */
export type EnvSource =
  | { kind: 'registered' | 'local'; envId: string }
  | { kind: 'shipped'; code: ShippedCode; exportName: string }
  | { kind: 'refuse'; reason: string };

/** The worker owner's say on code: `rl worker --accept-code`, and the link it has to its learner. */
export interface CodePolicy {
  acceptCode: boolean;
  /** Whether the link is CURVE to a learner key this worker was given (`--learner-key`), so the sender is proven. */
  authenticated: boolean;
  /** `--insecure`: plain TCP; shipped code is refused whatever the flags. */
  insecure: boolean;
  trust: EnvTrust;
}

/**
 * The one rule for running a learner's env on a worker. A registered env is data. A module
 * env is code: the learner's shipped bundle runs only when the owner accepts code and the link
 * proves the learner (CURVE to the key given); otherwise the worker's own copy, only from a
 * directory its owner allowed (`--env-dir`); otherwise it refuses, naming what is missing.
 */
export function envSource(setup: Pick<WorkerSetup, 'envId' | 'learnerDir' | 'code'>, policy: CodePolicy): EnvSource {
  const ref = parseModuleRef(setup.envId);
  if (!ref) return { kind: 'registered', envId: setup.envId };
  const code = setup.code;
  if (code && policy.acceptCode && policy.authenticated && !policy.insecure) return { kind: 'shipped', code, exportName: ref.name };
  try {
    return { kind: 'local', envId: trustedEnvId(localEnvId(setup.envId, setup.learnerDir), policy.trust, 'the learner asks for') };
  } catch (err) {
    if (!code) {
      // Without CURVE the learner ships nothing (no worker could prove who sent it).
      const hint = policy.authenticated ? '' : '; a learner ships env code only over CURVE (--keys and --learner-key here, --keys and --allowed-keys there)';
      return { kind: 'refuse', reason: `${(err as Error).message}${hint}` };
    }
    const what = `the learner ships its env code (${path.basename(ref.file)}, sha256 ${code.sha256.slice(0, 12)})`;
    const reason =
      policy.insecure ? `${what}, and shipped code is never run over a link without CURVE (--insecure): connect with --keys DIR and --learner-key FILE`
      : !policy.acceptCode ? `${what}; this worker runs shipped code only when started with --accept-code`
      : `${what}; shipped code runs only over CURVE to a learner key this worker was given: add --keys DIR and --learner-key FILE`;
    return { kind: 'refuse', reason };
  }
}
