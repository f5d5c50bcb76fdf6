import { algorithms } from '../../algorithms';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import * as zmq from 'zeromq';
import { ConfigError, RlError } from '../../core/errors';
import { configToYaml, loadConfig, validateConfig } from '../config/load';
import type { RunConfig } from '../config/schema';
import { parseModuleRef } from '../env-loader';
import { bundleEnvModule } from '../env-code/bundle';
import { MAX_BATCH_ENVS } from '../transport/limits';
import { PACKAGE_VERSION } from '../version';
import { checkRequest, runName, type DeployOptions, type DeployRequest } from './k8s-options';
import { FETCH_FILE, names, planObjects, type K8sObject, type Plan } from './k8s-manifests';
import { CONFIG_FILE, ENV_BUNDLE_FILE, PATHS } from './k8s-pods';
import { loadTuneFile } from '../tune/tune-file';
import { validateObject } from './k8s-validate';

export type { DeployRequest } from './k8s-options';

/** What `rl deploy kubernetes` wrote, and the commands that come next. */
export interface DeployResult {
  run: string;
  dir: string;
  files: string[];
  objects: { file: string; object: K8sObject }[];
  /** The learner's config as the pod reads it. */
  learnerConfig: RunConfig;
  next: string[];
}

/** A ConfigMap holds at most 1 MiB; the config and its headroom take the rest. */
const MAX_BUNDLE_BYTES = 900 * 1024;
export const SECRET_FILE = '01-secret.yaml';

/**
 * `rl deploy kubernetes`: manifests for one training run, written into `out` (a new or empty
 * folder). The config is resolved here, as the learner pod will read it; a module env is
 * bundled into the ConfigMap; fresh CURVE key pairs go into the Secret (never printed, the
 * file mode 0600). Every object is checked against Kubernetes' schema before anything is written.
 */
export async function deployKubernetes(request: DeployRequest): Promise<DeployResult> {
  const opts = checkRequest(request, MAX_BATCH_ENVS);
  checkOut(opts.out);
  // A tune file (base:, space:) deploys a sweep: the tuner in the StatefulSet, its trial agents in the Deployment.
  const tune = isTuneFile(opts.config) ? loadTuneFile(opts.config) : undefined;
  const config = tune ? tune.base : loadConfig(opts.config);
  const run = runName(tune ? tune.name : (config.name ?? path.basename(opts.config)));
  const learnerConfig = tune ? structuredClone(tune.base) : resolveLearnerConfig(config, opts);
  let envBundle: string | undefined;
  const ref = parseModuleRef(learnerConfig.env.id);
  if (ref) {
    const bundle = await bundleEnvModule(ref.file, { maxBytes: MAX_BUNDLE_BYTES });
    envBundle = bundle.source.toString('utf8');
    // The pod loads the bundle from the ConfigMap's mount (no env.module: the id names it). A
    // tuner names it as its module, which it bundles again for its agents.
    const file = `${PATHS.configDir}/${ENV_BUNDLE_FILE}`;
    learnerConfig.env = tune ? { id: `${file}:${ref.name}`, module: file, export: ref.name, config: learnerConfig.env.config } : { id: `${file}:${ref.name}`, config: learnerConfig.env.config };
  }
  const pods = tune ? `tuner pod (the sweep's base config):\n# its trials run on the ${names(run).workers} Deployment's agents` : `learner pod:\n# its workers come from the ${names(run).workers} Deployment`;
  const header = `# ${opts.config}, resolved by rl deploy kubernetes (rl-zmq ${PACKAGE_VERSION}) for the ${pods}${ref ? `; env.id was ${path.relative(process.cwd(), ref.file) || ref.file} (export ${ref.name}), bundled` : ''}\n`;
  const keys = { learner: zmq.curveKeyPair(), worker: zmq.curveKeyPair() };
  const plan: Plan = {
    run,
    namespace: opts.namespace,
    image: opts.image,
    workers: opts.workers,
    envsPerWorker: learnerConfig.workers.envsPerWorker,
    gpu: opts.gpu,
    autoscale: opts.autoscale,
    createNamespace: opts.createNamespace,
    configYaml: header + configToYaml(learnerConfig),
    envBundle,
    tuneYaml: tune ? tuneFileFor(opts.config, tune.name) : undefined,
    keys,
    version: PACKAGE_VERSION,
  };
  const objects = planObjects(plan);
  for (const { object } of objects) validateObject(object);
  const texts = objects.map(({ file, object }) => ({ file, text: stringify(object, { lineWidth: 0 }) }));
  const secrets = [keys.learner.secretKey, keys.worker.secretKey];
  for (const { file, text } of texts) {
    if (file !== SECRET_FILE && secrets.some((s) => text.includes(s))) throw new RlError(`rl deploy kubernetes: ${file} would hold a secret key; nothing written`);
  }
  fs.mkdirSync(path.join(opts.out, path.dirname(FETCH_FILE)), { recursive: true });
  for (const { file, text } of texts) {
    fs.writeFileSync(path.join(opts.out, file), text, { mode: file === SECRET_FILE ? 0o600 : 0o644, flag: 'wx' });
  }
  if (envBundle !== undefined) {
    // The same bundle for `rl evaluate --env-dir DIR/env` on the fetched run (its env.id names env.cjs).
    fs.mkdirSync(path.join(opts.out, 'env'));
    fs.writeFileSync(path.join(opts.out, 'env', ENV_BUNDLE_FILE), envBundle, { flag: 'wx' });
  }
  fs.writeFileSync(path.join(opts.out, '.gitignore'), `# CURVE secret keys: keep them out of git\n${SECRET_FILE}\n`, { flag: 'wx' });
  return { run, dir: opts.out, files: texts.map((t) => t.file), objects, learnerConfig, next: nextCommands(run, opts, ref !== undefined) };
}

/**
 * The config as the learner pod reads it. It is checked with the workers as asked
 * (`numWorkers: --workers`, so `minibatchSize <= trainBatchSize` holds for that many), then
 * set for the pod: `numWorkers: 0` (the workers are the Deployment's pods, connecting to
 * `--bind`) and what the algorithm's settings derive from the number of envs pinned at
 * workers x envs (`pinConfig`), so that scaling the Deployment changes the speed, not the algorithm.
 */
function resolveLearnerConfig(config: RunConfig, opts: DeployOptions): RunConfig {
  const sized = structuredClone(config);
  sized.workers.numWorkers = opts.workers;
  if (opts.envsPerWorker !== undefined) sized.workers.envsPerWorker = opts.envsPerWorker;
  if (opts.gpu) sized.backend = 'tensorflow-gpu';
  const where = (p: (string | number)[]) =>
    p[0] === 'workers' && p[1] === 'numWorkers' ? `--workers ${opts.workers}`
    : p[0] === 'workers' && p[1] === 'envsPerWorker' && opts.envsPerWorker !== undefined ? `--envs-per-worker ${opts.envsPerWorker}`
    : `${opts.config} (with --workers ${opts.workers})`;
  const checked = validateConfig(sized, where);
  const w = checked.workers;
  const module = algorithms[checked.algorithm];
  if (module.pinConfig) checked[checked.algorithm] = module.pinConfig(checked[checked.algorithm], { totalEnvs: opts.workers * w.envsPerWorker, rolloutLength: w.rolloutLength });
  w.numWorkers = 0;
  return checked;
}

/** Whether `file` is a tune file (base:, no algorithm:) rather than a training config. */
function isTuneFile(file: string): boolean {
  let raw: unknown;
  try {
    raw = parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return false; // loadConfig says what is wrong with it
  }
  return typeof raw === 'object' && raw !== null && 'base' in raw && !('algorithm' in raw);
}

/** The tune file as the tuner pod reads it: its base the ConfigMap's config.yaml, its name kept. */
function tuneFileFor(file: string, name: string): string {
  const raw = parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  return `# ${file}, for the tuner pod by rl deploy kubernetes (rl-zmq ${PACKAGE_VERSION}); its trials run on the agents (--concurrency 0)\n${stringify({ ...raw, name, base: CONFIG_FILE })}`;
}

/** `out` must be new or empty: a second deploy never overwrites keys a running deployment uses. */
function checkOut(out: string): void {
  if (!fs.existsSync(out)) return;
  if (!fs.statSync(out).isDirectory()) throw new ConfigError(`--out ${out}: not a folder`);
  if (fs.readdirSync(out).length > 0) throw new ConfigError(`--out ${out}: not empty; give a new or empty folder (its keys are never overwritten)`);
}

function nextCommands(run: string, opts: DeployOptions, ref: boolean): string[] {
  const n = names(run);
  const k = `kubectl -n ${opts.namespace}`;
  const pod = `${n.learner}-0`;
  const lines: [string, string][] = [
    ...(opts.namespace !== 'default' && !opts.createNamespace ? [[`kubectl create namespace ${opts.namespace}`, 'once, unless it exists'] as [string, string]] : []),
    [`kubectl apply -f ${opts.out}`, 'starts the run'],
    [`${k} logs -f ${pod}`, "the learner's console"],
    [`${k} scale deployment/${n.workers} --replicas=${opts.workers * 2}`, 'more workers, mid-run'],
    [`${k} delete pod ${pod}`, 'the learner restarts and resumes from its last checkpoint'],
    [`${k} cp ${pod}:${PATHS.runDir} runs/${run}`, 'the run dir, while the learner runs'],
    [`${k} scale statefulset/${n.learner} deployment/${n.workers} --replicas=0`, 'when the run is done (its learner would restart, resume and stop again); then, to fetch the run dir:'],
    [`kubectl apply -f ${path.join(opts.out, path.dirname(FETCH_FILE))}`, `a pod that mounts the run dir (${k} wait --for=condition=Ready pod/${n.fetch})`],
    [`${k} cp ${n.fetch}:${PATHS.runDir} runs/${run}`, 'the run dir, for rl view, TensorBoard and:'],
    [`rl evaluate --checkpoint runs/${run}${ref ? ` --env-dir ${path.join(opts.out, 'env')}` : ''}`, ref ? "the env's bundle is in " + path.join(opts.out, 'env') : 'the policy, scored'],
  ];
  return lines.flatMap(([c, why]) => [`# ${why}`, c]);
}
