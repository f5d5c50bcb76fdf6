import * as crypto from 'node:crypto';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { IService } from 'kubernetes-models/v1/Service';
import type { KeyPair } from '../transport/curve';
import {
  BATCH_PORT, CONFIG_FILE, ENV_BUNDLE_FILE, LEARNER_KEY_ITEMS, PATHS, SECRET_KEYS, TUNE_FILE, WEIGHTS_PORT, WORKER_KEY_ITEMS,
  agentArgs, learnerArgs, learnerEndpoint, tunerArgs, workerArgs,
} from './k8s-pods';

/**
 * The Kubernetes objects of one training run, as plain objects (k8s-validate.ts checks them
 * against Kubernetes' schemas): a Secret with the CURVE keys, a ConfigMap with the resolved
 * config and the env's code, the learner as a one-replica StatefulSet with a volume for its
 * run dir, a Service for its two ports, the workers as a Deployment and, if asked, an autoscaler.
 */
export interface Plan {
  run: string;
  namespace: string;
  image: string;
  workers: number;
  envsPerWorker: number;
  gpu: boolean;
  autoscale?: { min: number; max: number };
  /** Write a Namespace object too (else the namespace must exist). */
  createNamespace: boolean;
  /** The learner's resolved config, as YAML. */
  configYaml: string;
  /** A module env's bundle (CommonJS text); none for a registered env. */
  envBundle?: string;
  /**
   * A sweep instead of a training run: its tune file (YAML, `base: config.yaml`). The
   * StatefulSet then runs the tuner (`rl tune --bind`, the sweep dir on the claim) and the
   * Deployment its trial agents (`rl tune-agent`), on the batches port only.
   */
  tuneYaml?: string;
  keys: { learner: KeyPair; worker: KeyPair };
  version: string;
}

/** One of the objects below; typed by kubernetes-models, so a misspelt field fails the build. */
export type K8sObject = INamespace | IPod | ISecret | IConfigMap | IService | IStatefulSet | IDeployment | IHorizontalPodAutoscaler;

/** The non-root user of the Dockerfile's image (USER 1000:1000). */
const UID = 1000;
const RUN_VOLUME = 'run';
const RUN_STORAGE = '10Gi';
/** In a subfolder, which `kubectl apply -f DIR` leaves alone. */
export const FETCH_FILE = 'fetch/run-dir.yaml';

export const names = (run: string) => ({
  secret: `${run}-keys`,
  config: `${run}-config`,
  service: `${run}-learner`,
  learner: `${run}-learner`,
  workers: `${run}-workers`,
  /** The StatefulSet's claim for pod 0, as Kubernetes names it: <template>-<statefulset>-0. */
  runClaim: `${RUN_VOLUME}-${run}-learner-0`,
  fetch: `${run}-fetch`,
});

function labels(p: Plan, component?: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'rl-zmq',
    'app.kubernetes.io/instance': p.run,
    ...(component ? { 'app.kubernetes.io/component': component } : {}),
    'app.kubernetes.io/part-of': p.run,
    'app.kubernetes.io/managed-by': 'rl-deploy',
    'app.kubernetes.io/version': p.version,
  };
}

function selector(p: Plan, component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'rl-zmq', 'app.kubernetes.io/instance': p.run, 'app.kubernetes.io/component': component };
}

function meta(p: Plan, name: string, component?: string) {
  return { name, namespace: p.namespace, labels: labels(p, component) };
}

const podSecurity: IPodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: UID,
  runAsGroup: UID,
  fsGroup: UID, // the run dir's volume is writable by the user
  fsGroupChangePolicy: 'OnRootMismatch',
  seccompProfile: { type: 'RuntimeDefault' },
};

const containerSecurity: ISecurityContext = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } };

/** Secret files readable by the pod's group (fsGroup): the user is not root, kubelet owns them. */
const SECRET_MODE = 0o440;

export function namespaceObject(p: Plan): INamespace {
  // No instance label: a namespace may hold more than one run.
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: p.namespace, labels: { 'app.kubernetes.io/managed-by': 'rl-deploy' } } };
}

export function secretObject(p: Plan): ISecret {
  const { learner, worker } = p.keys;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(p, names(p.run).secret, 'keys'),
    type: 'Opaque',
    stringData: {
      [SECRET_KEYS.learnerPublic]: `${learner.publicKey}\n`,
      [SECRET_KEYS.learnerSecret]: `${learner.secretKey}\n`,
      [SECRET_KEYS.workerPublic]: `${worker.publicKey}\n`,
      [SECRET_KEYS.workerSecret]: `${worker.secretKey}\n`,
      [SECRET_KEYS.allowedWorker]: `${worker.publicKey}\n`,
    },
  };
}

export function configMapObject(p: Plan): IConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(p, names(p.run).config, 'config'),
    data: { [CONFIG_FILE]: p.configYaml, ...(p.tuneYaml !== undefined ? { [TUNE_FILE]: p.tuneYaml } : {}), ...(p.envBundle !== undefined ? { [ENV_BUNDLE_FILE]: p.envBundle } : {}) },
  };
}

export function serviceObject(p: Plan): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(p, names(p.run).service, 'learner'),
    spec: {
      type: 'ClusterIP', // a stable address: a restarted learner pod is reached at the same one
      selector: selector(p, 'learner'),
      ports: [
        { name: 'batches', port: BATCH_PORT, targetPort: 'batches', protocol: 'TCP' },
        ...(p.tuneYaml === undefined ? [{ name: 'weights', port: WEIGHTS_PORT, targetPort: 'weights', protocol: 'TCP' as const }] : []),
      ],
    },
  };
}

export function learnerObject(p: Plan): IStatefulSet {
  const n = names(p.run);
  const checksum = crypto.createHash('sha256').update(JSON.stringify(configMapObject(p).data)).digest('hex');
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta(p, n.learner, 'learner'),
    spec: {
      serviceName: n.service,
      replicas: 1,
      selector: { matchLabels: selector(p, 'learner') },
      template: {
        metadata: { labels: labels(p, 'learner'), annotations: { 'rl-zmq/config-sha256': checksum } },
        spec: {
          securityContext: podSecurity,
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 120, // SIGTERM: the learner finishes its iteration and checkpoints
          containers: [
            {
              name: p.tuneYaml === undefined ? 'learner' : 'tuner',
              image: p.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['rl'],
              args: p.tuneYaml === undefined ? learnerArgs() : tunerArgs(),
              ports: [
                { name: 'batches', containerPort: BATCH_PORT, protocol: 'TCP' },
                ...(p.tuneYaml === undefined ? [{ name: 'weights', containerPort: WEIGHTS_PORT, protocol: 'TCP' as const }] : []),
              ],
              readinessProbe: { tcpSocket: { port: 'batches' }, periodSeconds: 5, failureThreshold: 3 },
              resources: p.gpu
                ? { requests: { cpu: '2', memory: '4Gi' }, limits: { memory: '16Gi', 'nvidia.com/gpu': 1 } }
                : { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '4Gi' } },
              securityContext: containerSecurity,
              env: [{ name: 'HOME', value: PATHS.tmpDir }],
              volumeMounts: [
                { name: 'config', mountPath: PATHS.configDir, readOnly: true },
                { name: 'keys', mountPath: PATHS.keysDir, readOnly: true },
                { name: RUN_VOLUME, mountPath: PATHS.runDir },
                { name: 'tmp', mountPath: PATHS.tmpDir },
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: n.config } },
            { name: 'keys', secret: { secretName: n.secret, defaultMode: SECRET_MODE, items: LEARNER_KEY_ITEMS } },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          // A StatefulSet's claim templates cannot change once applied: no version label here.
          metadata: { name: RUN_VOLUME, labels: selector(p, 'learner') },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: RUN_STORAGE } } },
        },
      ],
    },
  };
}

export function workersObject(p: Plan): IDeployment {
  const n = names(p.run);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(p, n.workers, 'workers'),
    spec: {
      replicas: p.workers,
      selector: { matchLabels: selector(p, 'workers') },
      template: {
        metadata: { labels: labels(p, 'workers') },
        spec: {
          securityContext: podSecurity,
          automountServiceAccountToken: false,
          containers: [
            {
              name: p.tuneYaml === undefined ? 'worker' : 'agent',
              image: p.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['rl'],
              args: p.tuneYaml === undefined ? workerArgs(learnerEndpoint(n.service, p.namespace), p.envsPerWorker) : agentArgs(learnerEndpoint(n.service, p.namespace)),
              // One process steps its envs in one thread: a core at most, whatever their number. An agent trains a trial: a learner's share.
              resources: p.tuneYaml === undefined ? { requests: { cpu: workerCpu(p.envsPerWorker), memory: '512Mi' }, limits: { memory: '2Gi' } } : { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '4Gi' } },
              securityContext: containerSecurity,
              env: [{ name: 'HOME', value: PATHS.tmpDir }],
              volumeMounts: [
                { name: 'keys', mountPath: PATHS.keysDir, readOnly: true },
                { name: 'cache', mountPath: PATHS.cacheDir },
                { name: 'tmp', mountPath: PATHS.tmpDir },
              ],
            },
          ],
          volumes: [
            { name: 'keys', secret: { secretName: n.secret, defaultMode: SECRET_MODE, items: WORKER_KEY_ITEMS } },
            { name: 'cache', emptyDir: {} },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  };
}

/** A worker's CPU request: a quarter core per env, up to the one core its single thread can use. */
export function workerCpu(envs: number): string {
  return `${Math.min(1000, 250 * envs)}m`;
}

export function autoscalerObject(p: Plan): IHorizontalPodAutoscaler {
  const n = names(p.run);
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: meta(p, n.workers, 'workers'),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: n.workers },
      minReplicas: p.autoscale!.min,
      maxReplicas: p.autoscale!.max,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
    },
  };
}

/**
 * A pod that only mounts the run dir's claim, read-only, so that `kubectl cp` can fetch the run
 * once the learner has stopped (a finished learner's container is restarted, resumes, finds its
 * stop condition met and exits: too briefly up to copy from). Its own folder: `kubectl apply -f
 * DIR` does not start it.
 */
export function fetchPodObject(p: Plan): IPod {
  const n = names(p.run);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta(p, n.fetch, 'fetch'),
    spec: {
      securityContext: podSecurity,
      automountServiceAccountToken: false,
      restartPolicy: 'Never',
      containers: [
        {
          name: 'fetch',
          image: p.image,
          imagePullPolicy: 'IfNotPresent',
          command: ['sleep', '3600'],
          resources: { requests: { cpu: '10m', memory: '32Mi' } },
          securityContext: containerSecurity,
          volumeMounts: [{ name: RUN_VOLUME, mountPath: PATHS.runDir, readOnly: true }],
        },
      ],
      volumes: [{ name: RUN_VOLUME, persistentVolumeClaim: { claimName: n.runClaim, readOnly: true } }],
    },
  };
}

/** Every object of the plan, each with the file it goes to (kubectl applies a folder in name order). */
export function planObjects(p: Plan): { file: string; object: K8sObject }[] {
  return [
    ...(p.createNamespace ? [{ file: '00-namespace.yaml', object: namespaceObject(p) }] : []),
    { file: '01-secret.yaml', object: secretObject(p) },
    { file: '02-configmap.yaml', object: configMapObject(p) },
    { file: '03-service.yaml', object: serviceObject(p) },
    { file: '04-learner.yaml', object: learnerObject(p) },
    { file: '05-workers.yaml', object: workersObject(p) },
    ...(p.autoscale ? [{ file: '06-autoscaler.yaml', object: autoscalerObject(p) }] : []),
    { file: FETCH_FILE, object: fetchPodObject(p) },
  ];
}
