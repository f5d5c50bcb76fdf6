import * as path from 'node:path';
import { RlError } from '../core/errors';
import { parseTcpEndpoint } from './transport/endpoint';
import { readAllowedKeys, readKeyPair, readPublicKey, type KeyPair } from './transport/curve';

/** Loopback and ipc stay open; anything else is encrypted unless the user says --insecure. */
export function isLoopback(endpoint: string): boolean {
  if (endpoint.startsWith('ipc://') || endpoint.startsWith('inproc://')) return true;
  const host = parseTcpEndpoint(endpoint)?.host ?? '';
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === 'localhost' || host === '[::1]' || host === '::1';
}

export function learnerCurve(bind: string | undefined, keys: string | undefined, allowed: string | undefined, insecure: boolean): { pair: KeyPair; allowed: Set<string> } | undefined {
  if (!bind || insecure || (isLoopback(bind) && !keys)) {
    if (bind && insecure && !isLoopback(bind)) console.warn(`warning: --insecure: worker traffic on ${bind} is neither encrypted nor authenticated; anyone who reaches it can read weights and send batches`);
    return undefined;
  }
  if (!keys || !allowed) {
    throw new RlError(
      `--bind ${bind} is not a loopback address, so worker traffic is CURVE-encrypted: give --keys DIR (this learner's pair, from \`rl keys generate DIR\`) ` +
        'and --allowed-keys DIR (a folder of the public keys of the workers allowed in), or --insecure to go without',
    );
  }
  return { pair: readKeyPair(keys), allowed: readAllowedKeys(allowed) };
}

export function workerCurve(connect: string, keys: string | undefined, learnerKey: string | undefined, insecure: boolean): { pair: KeyPair; learnerKey: string } | undefined {
  const fromParent = process.env.RL_WORKER_KEYS; // a spawned worker of a CURVE learner
  if (fromParent) return JSON.parse(fromParent);
  if (insecure || (isLoopback(connect) && !keys)) return undefined;
  if (!keys || !learnerKey) {
    throw new RlError(
      `${connect} is not a loopback address, so the connection is CURVE-encrypted: give --keys DIR (this worker's pair, from \`rl keys generate DIR\`; ` +
        `put its public.key in the learner's --allowed-keys folder) and --learner-key FILE (the learner's public.key), or --insecure to go without`,
    );
  }
  return { pair: readKeyPair(keys), learnerKey: readPublicKey(path.resolve(learnerKey)) };
}
