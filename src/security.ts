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

/** `rl tune --bind`'s CURVE: as a learner's (loopback without keys stays open), with the agents' keys allowed. */
export function tunerCurve(bind: string, keys: string | undefined, allowed: string | undefined, insecure: boolean): { pair: KeyPair; allowed: Set<string> } | undefined {
  if (insecure || (isLoopback(bind) && !keys)) {
    if (insecure && !isLoopback(bind)) console.warn(`warning: --insecure: trial agents on ${bind} are neither encrypted nor authenticated; anyone who reaches it can take trials and send results`);
    return undefined;
  }
  if (!keys || !allowed) {
    throw new RlError(
      `rl tune --bind ${bind} is not a loopback address, so trial agents connect over CURVE: give --keys DIR (this tuner's pair, from \`rl keys generate DIR\`) ` +
        'and --allowed-keys DIR (a folder of the public keys of the agents allowed in), or --insecure to go without',
    );
  }
  return { pair: readKeyPair(keys), allowed: readAllowedKeys(allowed) };
}

/** `rl tune-agent`'s CURVE: its own pair, and the public key of the one tuner it runs trials for. */
export function agentCurve(connect: string, keys: string | undefined, tunerKey: string | undefined, insecure: boolean): { pair: KeyPair; tunerKey: string } | undefined {
  if (insecure || (isLoopback(connect) && !keys)) return undefined;
  if (!keys || !tunerKey) {
    throw new RlError(
      `rl tune-agent --connect ${connect} is not a loopback address, so the agent connects over CURVE: give --keys DIR (this agent's pair; put its public.key in the tuner's --allowed-keys folder) ` +
        "and --tuner-key FILE (the tuner's public.key: the only tuner whose trials it runs), or --insecure to go without",
    );
  }
  return { pair: readKeyPair(keys), tunerKey: readPublicKey(path.resolve(tunerKey)) };
}
