/**
 * Where things live inside the pods of `rl deploy kubernetes`, and the command lines the pods
 * run. The manifests (k8s-manifests.ts) mount volumes at these paths and the tests check that
 * every path a command reads is one a volume provides.
 */

/** The learner's port for workers' batches; the weights go out on the next one (see WorkerPool's listen). */
export const BATCH_PORT = 5555;
export const WEIGHTS_PORT = BATCH_PORT + 1;

export const PATHS = {
  /** The ConfigMap: config.yaml and, for a module env, its bundle (learner only). */
  configDir: '/etc/rl/config',
  /** The Secret: each pod sees only its own key pair and the public key it checks. */
  keysDir: '/etc/rl/keys',
  /** The learner's PersistentVolumeClaim: the run dir, checkpoints and all. */
  runDir: '/var/lib/rl/run',
  /** A worker's emptyDir for the env code the learner ships. */
  cacheDir: '/var/cache/rl',
  /** An emptyDir: the root file system is read-only (tsx's cache goes here). */
  tmpDir: '/tmp',
} as const;

export const CONFIG_FILE = 'config.yaml';
/** A sweep's tune file in the ConfigMap (its base: the config.yaml beside it). */
export const TUNE_FILE = 'tune.yaml';
/** A module env's bundle in the ConfigMap: CommonJS, whatever the folder's package.json says. */
export const ENV_BUNDLE_FILE = 'env.cjs';

/** The Secret's keys, and where each pod's volume puts them (a path under keysDir). */
export const SECRET_KEYS = {
  learnerPublic: 'learner-public.key',
  learnerSecret: 'learner-secret.key',
  workerPublic: 'worker-public.key',
  workerSecret: 'worker-secret.key',
  allowedWorker: 'allowed-worker.key',
} as const;

export const LEARNER_KEY_ITEMS = [
  { key: SECRET_KEYS.learnerPublic, path: 'learner/public.key' },
  { key: SECRET_KEYS.learnerSecret, path: 'learner/secret.key' },
  { key: SECRET_KEYS.allowedWorker, path: 'allowed/worker.key' },
];

export const WORKER_KEY_ITEMS = [
  { key: SECRET_KEYS.workerPublic, path: 'worker/public.key' },
  { key: SECRET_KEYS.workerSecret, path: 'worker/secret.key' },
  { key: SECRET_KEYS.learnerPublic, path: 'learner/public.key' },
];

/** `rl train` in the learner pod: resumes from the run dir's latest checkpoint when there is one. */
export function learnerArgs(): string[] {
  return [
    'train',
    '--config', `${PATHS.configDir}/${CONFIG_FILE}`,
    '--run-dir', PATHS.runDir,
    '--resume', 'auto',
    '--bind', `tcp://0.0.0.0:${BATCH_PORT}`,
    '--keys', `${PATHS.keysDir}/learner`,
    '--allowed-keys', `${PATHS.keysDir}/allowed`,
  ];
}

/** The learner's address inside the cluster: its Service's DNS name. */
export function learnerEndpoint(service: string, namespace: string): string {
  return `tcp://${service}.${namespace}.svc:${BATCH_PORT}`;
}

/** `rl worker` in a worker pod: it runs the env code the learner ships over the authenticated link. */
export function workerArgs(endpoint: string, envs: number): string[] {
  return [
    'worker',
    '--connect', endpoint,
    '--accept-code',
    '--keys', `${PATHS.keysDir}/worker`,
    '--learner-key', `${PATHS.keysDir}/learner/public.key`,
    '--cache-dir', PATHS.cacheDir,
    '--envs', String(envs),
  ];
}

/** `rl tune` in the tuner pod (a sweep's deploy): trials only on the agents, the sweep dir on the claim, continued after a restart. */
export function tunerArgs(): string[] {
  return [
    'tune',
    '--config', `${PATHS.configDir}/${TUNE_FILE}`,
    '--sweep-dir', PATHS.runDir,
    '--concurrency', '0',
    '--bind', `tcp://0.0.0.0:${BATCH_PORT}`,
    '--keys', `${PATHS.keysDir}/learner`,
    '--allowed-keys', `${PATHS.keysDir}/allowed`,
  ];
}

/** `rl tune-agent` in an agent pod: one trial at a time, the env code the tuner ships accepted over the authenticated link. */
export function agentArgs(endpoint: string): string[] {
  return [
    'tune-agent',
    '--connect', endpoint,
    '--accept-code',
    '--keys', `${PATHS.keysDir}/worker`,
    '--tuner-key', `${PATHS.keysDir}/learner/public.key`,
    '--work-dir', PATHS.cacheDir,
  ];
}
