import { ConfigError } from '../../core/errors';
import { LIMITS } from '../config/schema';

/** What `rl deploy kubernetes` is asked for, as typed (the CLI hands its flags over unparsed). */
export interface DeployRequest {
  config: string;
  image: string;
  workers: number | string;
  envsPerWorker?: number | string;
  namespace?: string;
  gpu?: boolean;
  /** Also write a Namespace object (its `kubectl delete -f` deletes the namespace and all in it). */
  createNamespace?: boolean;
  /** `MIN:MAX` worker replicas for a HorizontalPodAutoscaler on CPU. */
  autoscale?: string;
  out: string;
}

/** The request, checked: every problem is a one-line ConfigError naming the flag. */
export interface DeployOptions {
  config: string;
  image: string;
  workers: number;
  envsPerWorker?: number;
  namespace: string;
  gpu: boolean;
  createNamespace: boolean;
  autoscale?: { min: number; max: number };
  out: string;
}

/** Longest run name: `<run>-learner-0` and the controllers' hashed pod names stay within 63 characters. */
const MAX_RUN_NAME = 40;

export function checkRequest(r: DeployRequest, maxEnvs: number): DeployOptions {
  const workers = wholeNumber('--workers', r.workers, 1, LIMITS.numWorkers);
  const envsPerWorker = r.envsPerWorker === undefined ? undefined : wholeNumber('--envs-per-worker', r.envsPerWorker, 1, maxEnvs);
  const namespace = r.namespace ?? 'default';
  if (!isDnsLabel(namespace)) {
    throw new ConfigError(`--namespace (${JSON.stringify(namespace)}) must be a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`);
  }
  if (!isImageReference(r.image)) {
    throw new ConfigError(`--image (${JSON.stringify(r.image)}) must be an image reference such as registry.example.com/team/rl-zmq:0.2 (lowercase path, no spaces)`);
  }
  const autoscale = r.autoscale === undefined ? undefined : parseAutoscale(r.autoscale, workers);
  return { config: r.config, image: r.image, workers, envsPerWorker, namespace, gpu: r.gpu ?? false, createNamespace: r.createNamespace ?? false, autoscale, out: r.out };
}

function wholeNumber(flag: string, raw: number | string, min: number, max: number): number {
  const text = String(raw).trim();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(`${flag} (${JSON.stringify(text)}) must be a whole number from ${min} to ${max}`);
  return n;
}

function parseAutoscale(raw: string, workers: number): { min: number; max: number } {
  const m = /^(\d+):(\d+)$/.exec(raw.trim());
  const min = m ? Number(m[1]) : NaN;
  const max = m ? Number(m[2]) : NaN;
  if (!m || min < 1 || max < min) throw new ConfigError(`--autoscale (${JSON.stringify(raw)}) must be MIN:MAX worker replicas with 1 <= MIN <= MAX, e.g. 4:32`);
  if (workers < min || workers > max) throw new ConfigError(`--workers (${workers}) must be within --autoscale ${min}:${max} (the replicas the workers start with)`);
  return { min, max };
}

/** A DNS-1123 label: what Kubernetes takes as a namespace and a Service name. */
export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s);
}

/** The run's name made a DNS-1123 label prefix (`PPO_LunarLander` -> `ppo-lunarlander`); a ConfigError where nothing is left. */
export function runName(name: string): string {
  const safe = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').slice(0, MAX_RUN_NAME).replace(/^-+|-+$/g, '');
  if (!isDnsLabel(safe)) throw new ConfigError(`name (${JSON.stringify(name)}): the run's name must have letters or digits, for the names of its Kubernetes objects`);
  return safe;
}

/** A container image reference (the distribution reference grammar): [host[:port]/]path[:tag][@sha256:digest]. */
export function isImageReference(s: string): boolean {
  const component = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
  const host = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?';
  const re = new RegExp(`^${host}${component}(?:/${component})*(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`);
  return s.length <= 255 && re.test(s);
}
