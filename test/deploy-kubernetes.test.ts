import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '../core/errors';
import { deployKubernetes, SECRET_FILE, type DeployRequest, type DeployResult } from '../src/deploy/kubernetes';
import { validateObject } from '../src/deploy/k8s-validate';
import type { K8sObject } from '../src/deploy/k8s-manifests';
import { acquireRunDir, LOCK_FILE, runDirProblem } from '../src/run-dir';
import { readAllowedKeys, readKeyPair, readPublicKey } from '../src/transport/curve';
import { loadTuneFile } from '../src/tune/tune-file';

/**
 * `rl deploy kubernetes` (issue 14). No cluster runs here: the objects are checked against
 * Kubernetes' schemas (kubernetes-models) and against each other, the key files are laid out
 * as the Secret mounts them and read with the real code, a module env's bundle is loaded as the
 * image's NODE_PATH provides rl-zmq, and the rendered commands are parsed by the real CLI.
 */
const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'src', 'cli.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-k8s-'));
const cartpole = path.join(root, 'configs', 'ppo-cartpole.yaml');

type Pod = { containers: any[]; volumes: any[]; securityContext: any };

async function deploy(name: string, extra: Partial<DeployRequest> = {}): Promise<DeployResult & { files: string[]; read: (kind: string) => any }> {
  const out = path.join(tmp, name);
  const r = await deployKubernetes({ config: cartpole, image: 'registry.example.com/team/rl-zmq:0.2', workers: 4, out, ...extra });
  // What kubectl would read: the files, not the objects in memory.
  const parsed = r.files.map((f) => parse(fs.readFileSync(path.join(out, f), 'utf8')) as K8sObject);
  const read = (kind: string) => {
    const found = parsed.filter((o) => o.kind === kind);
    assert.equal(found.length, 1, `one ${kind}`);
    return found[0] as any;
  };
  return { ...r, read };
}

const podOf = (o: any): Pod => o.spec.template.spec;
const containerOf = (o: any) => podOf(o).containers[0];
const argValue = (args: string[], flag: string) => {
  const i = args.indexOf(flag);
  assert.ok(i >= 0, `${flag} in ${args.join(' ')}`);
  return args[i + 1];
};

/** The files a pod sees under its Secret volume's mount: mountPath/item.path -> the Secret's value. */
function secretFiles(pod: Pod, container: any, secret: any): Map<string, string> {
  const files = new Map<string, string>();
  for (const m of container.volumeMounts) {
    const v = pod.volumes.find((x) => x.name === m.name);
    if (!v?.secret) continue;
    assert.equal(v.secret.secretName, secret.metadata.name);
    for (const item of v.secret.items) {
      assert.ok(item.key in secret.stringData, `${item.key} is in the Secret`);
      files.set(path.posix.join(m.mountPath, item.path), secret.stringData[item.key]);
    }
  }
  return files;
}

/** Writes `files` (absolute pod paths) under `dir`, as the pod would see them; returns the prefix. */
function layOut(dir: string, files: Map<string, string>): string {
  for (const [p, text] of files) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), text, { mode: 0o600 });
  }
  return dir;
}

describe('rl deploy kubernetes (issue 14)', () => {
  let plain: Awaited<ReturnType<typeof deploy>>;
  let gpu: Awaited<ReturnType<typeof deploy>>;

  before(async () => {
    plain = await deploy('plain', { workers: 4, envsPerWorker: 2, namespace: 'rl', createNamespace: true, autoscale: '2:8' });
    gpu = await deploy('gpu', { workers: 3, gpu: true });
  });

  it('writes objects that all validate against Kubernetes schemas, one file each, the Secret mode 0600 and git-ignored', () => {
    assert.deepEqual(plain.files, ['00-namespace.yaml', '01-secret.yaml', '02-configmap.yaml', '03-service.yaml', '04-learner.yaml', '05-workers.yaml', '06-autoscaler.yaml', 'fetch/run-dir.yaml']);
    assert.deepEqual(gpu.files, ['01-secret.yaml', '02-configmap.yaml', '03-service.yaml', '04-learner.yaml', '05-workers.yaml', 'fetch/run-dir.yaml'], 'no Namespace or autoscaler unless asked');
    for (const r of [plain, gpu]) {
      for (const f of r.files) {
        const o = parse(fs.readFileSync(path.join(r.dir, f), 'utf8')) as K8sObject;
        validateObject(o); // kubernetes-models: throws where the schema is broken
        if (o.kind !== 'Namespace') assert.equal(o.metadata!.namespace, r === plain ? 'rl' : 'default');
        assert.equal(o.metadata!.labels!['app.kubernetes.io/managed-by'], 'rl-deploy');
      }
      assert.equal(fs.statSync(path.join(r.dir, SECRET_FILE)).mode & 0o777, 0o600);
      assert.equal(fs.readFileSync(path.join(r.dir, '.gitignore'), 'utf8').split('\n').includes(SECRET_FILE), true);
    }
    // The validator is not a formality: a wrong type is refused.
    const broken = structuredClone(plain.read('Service'));
    broken.spec.ports[0].port = 'five';
    assert.throws(() => validateObject(broken), /Service ppo-cartpole-learner it made is not valid Kubernetes \(.*port must be integer/);
  });

  it('runs rl train in the learner pod with --bind, --resume auto and its keys, and rl worker with --accept-code against the Service', () => {
    assert.deepEqual(containerOf(plain.read('StatefulSet')).command, ['rl']);
    assert.deepEqual(containerOf(plain.read('StatefulSet')).args, [
      'train', '--config', '/etc/rl/config/config.yaml', '--run-dir', '/var/lib/rl/run', '--resume', 'auto',
      '--bind', 'tcp://0.0.0.0:5555', '--keys', '/etc/rl/keys/learner', '--allowed-keys', '/etc/rl/keys/allowed',
    ]);
    assert.deepEqual(containerOf(plain.read('Deployment')).command, ['rl']);
    assert.deepEqual(containerOf(plain.read('Deployment')).args, [
      'worker', '--connect', 'tcp://ppo-cartpole-learner.rl.svc:5555', '--accept-code', '--keys', '/etc/rl/keys/worker',
      '--learner-key', '/etc/rl/keys/learner/public.key', '--cache-dir', '/var/cache/rl', '--envs', '2',
    ]);
    assert.equal(plain.read('StatefulSet').spec.replicas, 1);
    assert.equal(plain.read('Deployment').spec.replicas, 4);
  });

  it("gives the Service the learner container's two ports and selects the learner pod, which the workers connect to by its DNS name", () => {
    const service = plain.read('Service');
    const learner = plain.read('StatefulSet');
    const ports = containerOf(learner).ports;
    assert.deepEqual(service.spec.ports.map((p: any) => p.port), [5555, 5556]);
    for (const p of service.spec.ports) {
      const target = ports.find((c: any) => c.name === p.targetPort);
      assert.ok(target, `the container has a port named ${p.targetPort}`);
      assert.equal(target.containerPort, p.port);
    }
    const podLabels = learner.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(podLabels[k], v);
    assert.deepEqual(learner.spec.selector.matchLabels, service.spec.selector);
    const workerLabels = plain.read('Deployment').spec.template.metadata.labels;
    assert.notEqual(workerLabels['app.kubernetes.io/component'], service.spec.selector['app.kubernetes.io/component'], 'the Service does not select workers');
    assert.equal(learner.spec.serviceName, service.metadata.name);
    const connect = argValue(containerOf(plain.read('Deployment')).args, '--connect');
    assert.equal(connect, `tcp://${service.metadata.name}.${service.metadata.namespace}.svc:${service.spec.ports[0].port}`);
    assert.equal(argValue(containerOf(learner).args, '--bind'), `tcp://0.0.0.0:${service.spec.ports[0].port}`);
    assert.deepEqual(containerOf(learner).readinessProbe.tcpSocket, { port: 'batches' });
  });

  it('mounts the Secret where the commands read keys: each pod its own pair, and the real key readers accept the files', () => {
    const secret = plain.read('Secret');
    const learner = plain.read('StatefulSet');
    const workers = plain.read('Deployment');
    const learnerFiles = secretFiles(podOf(learner), containerOf(learner), secret);
    const workerFiles = secretFiles(podOf(workers), containerOf(workers), secret);
    const la = containerOf(learner).args;
    const wa = containerOf(workers).args;
    for (const f of ['public.key', 'secret.key']) {
      assert.ok(learnerFiles.has(`${argValue(la, '--keys')}/${f}`), `learner --keys has ${f}`);
      assert.ok(workerFiles.has(`${argValue(wa, '--keys')}/${f}`), `worker --keys has ${f}`);
    }
    assert.ok(workerFiles.has(argValue(wa, '--learner-key')));
    // Laid out as mounted, read by the code the pods run.
    const l = layOut(path.join(tmp, 'learner-pod'), learnerFiles);
    const w = layOut(path.join(tmp, 'worker-pod'), workerFiles);
    const learnerPair = readKeyPair(l + argValue(la, '--keys'));
    const workerPair = readKeyPair(w + argValue(wa, '--keys'));
    assert.deepEqual([...readAllowedKeys(l + argValue(la, '--allowed-keys'))], [workerPair.publicKey], 'the learner allows the workers');
    assert.equal(readPublicKey(w + argValue(wa, '--learner-key')), learnerPair.publicKey, 'the workers check the learner');
    // A worker pod never sees the learner's secret key, nor the learner the workers'.
    assert.ok(![...workerFiles.values()].some((t) => t.includes(learnerPair.secretKey)));
    assert.ok(![...learnerFiles.values()].some((t) => t.includes(workerPair.secretKey)));
    assert.notEqual(gpu.read('Secret').stringData['learner-secret.key'], secret.stringData['learner-secret.key'], 'each deploy makes new keys');
  });

  it('mounts the run dir claim at --run-dir and the ConfigMap at --config, as a non-root user with a read-only root', () => {
    const learner = plain.read('StatefulSet');
    const c = containerOf(learner);
    const claim = learner.spec.volumeClaimTemplates[0];
    const runMount = c.volumeMounts.find((m: any) => m.name === claim.metadata.name);
    assert.equal(runMount.mountPath, argValue(c.args, '--run-dir'));
    assert.deepEqual(claim.spec.accessModes, ['ReadWriteOnce']);
    const config = argValue(c.args, '--config');
    const configMount = c.volumeMounts.find((m: any) => config.startsWith(`${m.mountPath}/`));
    const configVolume = podOf(learner).volumes.find((v: any) => v.name === configMount.name);
    assert.equal(configVolume.configMap.name, plain.read('ConfigMap').metadata.name);
    assert.ok(path.posix.basename(config) in plain.read('ConfigMap').data);
    for (const o of [learner, plain.read('Deployment')]) {
      const pod = podOf(o);
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.ok(pod.securityContext.runAsUser > 0);
      assert.equal(pod.securityContext.fsGroup, pod.securityContext.runAsGroup, 'the claim is writable by the group');
      assert.equal(containerOf(o).securityContext.readOnlyRootFilesystem, true);
      assert.ok(containerOf(o).volumeMounts.some((m: any) => m.mountPath === '/tmp'), 'a writable /tmp');
    }
    // The fetch pod mounts the claim the StatefulSet makes for pod 0: <template>-<statefulset>-0.
    const fetch = plain.read('Pod');
    assert.equal(fetch.spec.volumes[0].persistentVolumeClaim.claimName, `${claim.metadata.name}-${learner.metadata.name}-0`);
    assert.deepEqual(fetch.spec.containers[0].volumeMounts, [{ name: fetch.spec.volumes[0].name, mountPath: runMount.mountPath, readOnly: true }]);
    const workers = plain.read('Deployment');
    const cache = containerOf(workers).volumeMounts.find((m: any) => m.mountPath === argValue(containerOf(workers).args, '--cache-dir'));
    assert.deepEqual(podOf(workers).volumes.find((v: any) => v.name === cache.name).emptyDir, {});
  });

  it('gives the learner a GPU limit and backend tensorflow-gpu only with --gpu, and never the workers', () => {
    const gpuLimit = (o: any) => containerOf(o).resources.limits?.['nvidia.com/gpu'];
    assert.equal(gpuLimit(gpu.read('StatefulSet')), 1);
    assert.equal(gpuLimit(gpu.read('Deployment')), undefined);
    assert.equal(gpuLimit(plain.read('StatefulSet')), undefined);
    assert.equal(parse(gpu.read('ConfigMap').data['config.yaml']).backend, 'tensorflow-gpu');
    assert.equal(parse(plain.read('ConfigMap').data['config.yaml']).backend, 'auto');
  });

  it("sets the learner's config for the pods: no spawned workers, PPO's batch fixed at workers x envs x steps; CPU requests by envs", () => {
    const cfg = parse(plain.read('ConfigMap').data['config.yaml']);
    assert.equal(cfg.workers.numWorkers, 0, 'the workers are the Deployment');
    assert.equal(cfg.workers.envsPerWorker, 2);
    assert.equal(cfg.ppo.trainBatchSize, 4 * 2 * 128, '--workers 4 x --envs-per-worker 2 x rolloutLength 128');
    assert.equal(parse(gpu.read('ConfigMap').data['config.yaml']).ppo.trainBatchSize, 3 * 8 * 128);
    assert.equal(containerOf(plain.read('Deployment')).resources.requests.cpu, '500m');
    assert.equal(containerOf(gpu.read('Deployment')).resources.requests.cpu, '1000m', 'one core at most: a worker is one thread');
    const hpa = plain.read('HorizontalPodAutoscaler');
    assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas, hpa.spec.scaleTargetRef.name], [2, 8, plain.read('Deployment').metadata.name]);
  });

  it('keeps every secret key out of every file but the Secret', () => {
    for (const r of [plain, gpu]) {
      const secret = r.read('Secret').stringData;
      const keys = [secret['learner-secret.key'].trim(), secret['worker-secret.key'].trim()];
      assert.equal(keys.every((k) => k.length === 40), true);
      for (const f of r.files.filter((x) => x !== SECRET_FILE)) {
        const text = fs.readFileSync(path.join(r.dir, f), 'utf8');
        for (const k of keys) assert.equal(text.includes(k), false, `${f} holds no secret key`);
      }
    }
  });

  it("bundles a module env into the ConfigMap, points env.id at its mount path, and the bundle loads where rl-zmq comes from NODE_PATH (the image's link)", async () => {
    const dir = path.join(tmp, 'module-env');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'step-size.ts'), 'export const STEP = 1;\n');
    fs.writeFileSync(
      path.join(dir, 'walker.ts'),
      `import { Box, Discrete } from 'rl-zmq';
import { STEP } from './step-size';
export class Walker {
  readonly actionSpace = new Discrete(2);
  readonly observationSpace = new Box(-10, 10, [1]);
  private x = 0;
  reset() { this.x = 0; return { obs: new Float32Array([this.x]), info: {} }; }
  step(a: number) { this.x += a === 1 ? STEP : -STEP; return { obs: new Float32Array([this.x]), reward: this.x, terminated: Math.abs(this.x) >= 3, truncated: false, info: {} }; }
}
`,
    );
    fs.writeFileSync(path.join(dir, 'walker.yaml'), 'name: My_Walker.v2\nalgorithm: ppo\nenv: { module: ./walker.ts, export: Walker }\nppo: { minibatchSize: 64 }\nstop: { iterations: 1 }\n');
    const r = await deploy('module', { config: path.join(dir, 'walker.yaml'), workers: 2 });
    const data = r.read('ConfigMap').data;
    const cfg = parse(data['config.yaml']);
    assert.deepEqual(cfg.env, { id: '/etc/rl/config/env.cjs:Walker', config: {} }, 'the id names the mounted bundle; no env.module');
    const bundle: string = data['env.cjs'];
    assert.match(bundle, /require\("rl-zmq"\)/, 'rl-zmq stays an import');
    assert.doesNotMatch(bundle, /require\("\.\/step-size"\)/, 'local imports are bundled in');
    assert.equal(r.learnerConfig.env.id, cfg.env.id);
    assert.equal(r.read('StatefulSet').metadata.name, 'my-walker-v2-learner', "the config's name, DNS-safe");
    assert.equal(fs.readFileSync(path.join(r.dir, 'env', 'env.cjs'), 'utf8'), bundle, 'a copy for rl evaluate --env-dir');
    // Outside the repository (no node_modules above it), as in the pod: rl-zmq only through NODE_PATH.
    const pod = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-k8s-pod-'));
    fs.mkdirSync(path.join(pod, 'node-path'));
    fs.symlinkSync(root, path.join(pod, 'node-path', 'rl-zmq'));
    fs.writeFileSync(path.join(pod, 'env.cjs'), bundle);
    const script = `const { createEnv } = require(${JSON.stringify(path.join(root, 'dist', 'src', 'env-loader.js'))});
const env = createEnv(${JSON.stringify(`${path.join(pod, 'env.cjs')}:Walker`)});
env.reset(); const s = env.step(1); console.log(JSON.stringify({ obs: Array.from(s.obs), reward: s.reward }));`;
    const run = (nodePath?: string) => spawnSync(process.execPath, ['-e', script], { cwd: pod, encoding: 'utf8', env: { ...process.env, NODE_PATH: nodePath ?? '' } });
    const ok = run(path.join(pod, 'node-path'));
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { obs: [1], reward: 1 });
    const without = run();
    assert.notEqual(without.status, 0, 'without the link the bundle cannot find rl-zmq');
    assert.match(without.stderr, /rl-zmq/);
  });

  it('refuses bad flags with one line that names the flag, and writes nothing', async () => {
    const cases: [Partial<DeployRequest>, RegExp][] = [
      [{ workers: 0 }, /^--workers \("0"\) must be a whole number from 1 to 256$/],
      [{ workers: 'many' }, /^--workers \("many"\) must be a whole number/],
      [{ autoscale: '5:2' }, /^--autoscale \("5:2"\) must be MIN:MAX worker replicas with 1 <= MIN <= MAX/],
      [{ autoscale: '8:16' }, /^--workers \(4\) must be within --autoscale 8:16/],
      [{ image: 'my image:latest' }, /^--image \("my image:latest"\) must be an image reference/],
      [{ namespace: 'Team_RL' }, /^--namespace \("Team_RL"\) must be a DNS-1123 label/],
      [{ envsPerWorker: 100000 }, /^--envs-per-worker \("100000"\) must be a whole number from 1 to/],
    ];
    for (const [bad, message] of cases) {
      const out = path.join(tmp, 'bad');
      await assert.rejects(deploy('bad', bad), (err: Error) => err instanceof ConfigError && message.test(err.message) && !err.message.includes('\n'));
      assert.equal(fs.existsSync(out), false, `nothing written for ${JSON.stringify(bad)}`);
    }
    await assert.rejects(deploy('plain'), /--out .*plain: not empty; give a new or empty folder/);
    const r = spawnSync(process.execPath, [cli, 'deploy', 'kubernetes', '--config', cartpole, '--image', 'x/y:1', '--workers', '0', '--out', path.join(tmp, 'cli-bad')], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'error: --workers ("0") must be a whole number from 1 to 256\n');
  });

  it('renders commands that the real CLI accepts: every flag parses, and the first error is about a missing file, not a flag', () => {
    // The pod's paths under a folder of ours, with the Secret's files where it mounts them and
    // one file missing each time: the command must get as far as reading it.
    const check = (o: any, missing: string, files: Map<string, string>) => {
      const pod = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-k8s-cli-'));
      layOut(pod, files);
      const args = (containerOf(o).args as string[]).map((a) => (a.startsWith('/') ? pod + a : a));
      for (const a of containerOf(o).volumeMounts) if (a.mountPath !== missing) fs.mkdirSync(pod + a.mountPath, { recursive: true });
      const r = spawnSync(process.execPath, [cli, ...args], { cwd: pod, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
      assert.doesNotMatch(r.stderr, /Unknown argument|Invalid values|Missing required|Not enough arguments/, r.stderr);
      assert.equal(r.status !== 0 && r.status !== null, true, `rl ${containerOf(o).args[0]} stopped with an error: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^error: .*${(pod + missing).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), r.stderr);
    };
    const secret = plain.read('Secret');
    const learner = plain.read('StatefulSet');
    const workers = plain.read('Deployment');
    check(learner, '/etc/rl/config', secretFiles(podOf(learner), containerOf(learner), secret)); // no config.yaml
    check(workers, '/etc/rl/keys', new Map()); // no keys
  });

  it('deploys a sweep from a tune file: rl tune --bind in the StatefulSet (agents only, the sweep dir on the claim), rl tune-agent --accept-code in the Deployment, one port', async () => {
    const tuneFile = path.join(tmp, 'tune-cartpole.yaml');
    fs.writeFileSync(tuneFile, [`base: ${cartpole}`, 'space: { ppo.lr: { loguniform: [1.0e-4, 1.0e-2] } }', 'budget: { trials: 4 }', 'concurrency: 2'].join('\n'));
    const r = await deploy('tune', { config: tuneFile, workers: 3 }); // every object checked against the schemas as it was written
    const tuner = containerOf(r.read('StatefulSet'));
    const agents = r.read('Deployment');
    assert.equal(tuner.name, 'tuner');
    assert.equal(tuner.args[0], 'tune');
    assert.equal(argValue(tuner.args, '--concurrency'), '0');
    const claim = tuner.volumeMounts.find((m: any) => m.name === 'run');
    assert.equal(argValue(tuner.args, '--sweep-dir'), claim.mountPath);
    assert.deepEqual(tuner.ports.map((p: any) => p.name), ['batches']);
    assert.deepEqual(r.read('Service').spec.ports.map((p: any) => p.port), [5555]);
    assert.equal(agents.spec.replicas, 3);
    const agent = containerOf(agents);
    assert.equal(agent.args[0], 'tune-agent');
    assert.ok(agent.args.includes('--accept-code'));
    assert.equal(argValue(agent.args, '--connect'), `tcp://${r.read('Service').metadata.name}.default.svc:5555`);
    // The keys each side reads are where its Secret volume puts them, and the real readers accept them.
    const secret = r.read('Secret');
    const tunerFiles = layOut(fs.mkdtempSync(path.join(os.tmpdir(), 'rl-k8s-tuner-')), secretFiles(podOf(r.read('StatefulSet')), tuner, secret));
    const agentFiles = layOut(fs.mkdtempSync(path.join(os.tmpdir(), 'rl-k8s-agent-')), secretFiles(podOf(agents), agent, secret));
    const tunerPair = readKeyPair(tunerFiles + argValue(tuner.args, '--keys'));
    const agentPair = readKeyPair(agentFiles + argValue(agent.args, '--keys'));
    assert.equal(readPublicKey(agentFiles + argValue(agent.args, '--tuner-key')), tunerPair.publicKey);
    assert.deepEqual([...readAllowedKeys(tunerFiles + argValue(tuner.args, '--allowed-keys'))], [agentPair.publicKey]);
    // The ConfigMap's tune file loads as the tuner pod reads it, its base the config.yaml beside it.
    const data = r.read('ConfigMap').data as Record<string, string>;
    const mount = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-k8s-tune-config-'));
    for (const [file, text] of Object.entries(data)) fs.writeFileSync(path.join(mount, file), text);
    assert.equal(path.join(mount, path.basename(argValue(tuner.args, '--config'))), path.join(mount, 'tune.yaml'));
    const spec = loadTuneFile(path.join(mount, 'tune.yaml'));
    assert.equal(spec.name, 'tune-cartpole');
    assert.equal(spec.configs.length, 4);
    assert.equal(spec.base.env.id, 'CartPole-v1');
  });

  it('lets a restarted learner pod take over its own stale lock: same host name, same pid, started before this process', () => {
    const dir = path.join(tmp, 'restarted-pod');
    fs.mkdirSync(dir);
    const lock = (startedAt: string) => fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, host: os.hostname(), startedAt }));
    lock(new Date(Date.now() - process.uptime() * 1000 - 60_000).toISOString());
    assert.equal(runDirProblem(dir), undefined, 'a lock from an earlier life of this pid is stale');
    const release = acquireRunDir(dir);
    try {
      assert.match(runDirProblem(dir) ?? '', /in use by another run \(pid \d+/, 'a lock this process took is held');
    } finally {
      release();
    }
  });
});
