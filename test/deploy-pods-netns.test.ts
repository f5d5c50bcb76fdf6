import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { deployKubernetes } from '../src/deploy/kubernetes';
import { LOCK_FILE } from '../src/run-dir';
import { keyFingerprint } from '../src/transport/curve';
import { type HostProcess, Hosts, netnsProblem, removeLeftovers } from './helpers/netns';
import { type ContainerSpec, imageSetup, podArgv, type PodSpec, type VolumeSources, volumeFolders } from './helpers/pod-sandbox';
import { progressSoFar } from './helpers/progress';
import { until as poll } from './helpers/until';

/**
 * The pods of `rl deploy kubernetes` run outside containers (issue 14): the manifests are
 * written for a module env (the README's corridor) and read back from their YAML files; the
 * learner StatefulSet's pod and two pods of the workers' Deployment each run on a namespace
 * host of their own (test/helpers/netns.ts), with the volumes mounted where the manifests mount them
 * (test/helpers/pod-sandbox.ts: the Secret's and ConfigMap's files by their items and modes, a folder
 * standing for the run dir's claim, emptyDirs), as the pods' user, on a read-only root. The
 * commands and args are the manifests', byte for byte: the program `rl` is a script running
 * node on dist/src/cli.js (the image links it), and the Service's DNS name is an /etc/hosts
 * line in the worker pods naming the learner host's address (the cluster DNS's answer).
 *
 * Timing is never asserted: every wait is for a log line or a file, with a generous deadline.
 */

const root = path.resolve(__dirname, '..', '..');
const ITERATIONS = 24;

interface Objects {
  learnerPod: PodSpec;
  learner: ContainerSpec;
  workerPod: PodSpec;
  worker: ContainerSpec;
  sources: Omit<VolumeSources, 'claims'>;
  claim: string;
  service: { name: string; namespace: string };
  learnerName: string;
  workersName: string;
}

/** The objects as kubectl would read them: from the files. */
function readObjects(dir: string, files: string[]): Objects {
  const all = files.map((f) => parse(fs.readFileSync(path.join(dir, f), 'utf8')));
  const one = (kind: string) => {
    const found = all.filter((o) => o.kind === kind);
    assert.equal(found.length, 1, `one ${kind} in ${dir}`);
    return found[0];
  };
  const sts = one('StatefulSet');
  const deployment = one('Deployment');
  const secret = one('Secret');
  const configMap = one('ConfigMap');
  const service = one('Service');
  return {
    learnerPod: sts.spec.template.spec,
    learner: sts.spec.template.spec.containers[0],
    workerPod: deployment.spec.template.spec,
    worker: deployment.spec.template.spec.containers[0],
    sources: {
      configMaps: { [configMap.metadata.name]: configMap.data },
      secrets: { [secret.metadata.name]: secret.stringData ?? Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])) },
    },
    claim: sts.spec.volumeClaimTemplates[0].metadata.name,
    service: { name: service.metadata.name, namespace: service.metadata.namespace },
    learnerName: sts.metadata.name,
    workersName: deployment.metadata.name,
  };
}

function checkpoints(runDir: string): string[] {
  const dir = path.join(runDir, 'checkpoints');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => /^iter_\d+$/.test(d)).sort() : [];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe("The pods of rl deploy kubernetes, run outside containers: the manifests' commands on namespace hosts with the volumes mounted as the manifests say", function () {
  let hosts: Hosts | undefined;
  let tmp = '';
  let k8s: Objects;
  let runDir = '';
  let learner: HostProcess | undefined;
  const workers: { pod: string; process: HostProcess; cache: string }[] = [];
  let learnerStarts = 0;
  let image: ReturnType<typeof imageSetup>;

  /** One start of the learner pod: fresh emptyDirs, the same claim folder, host name `<statefulset>-0`. */
  function startLearner(): HostProcess {
    learnerStarts += 1;
    const dir = path.join(tmp, 'pods', `learner-${learnerStarts}`);
    const folders = volumeFolders(k8s.learnerPod, { ...k8s.sources, claims: { [k8s.claim]: runDir } }, dir);
    const argv = podArgv(k8s.learnerPod, k8s.learner, image, folders, { hostname: `${k8s.learnerName}-0`, dir });
    return hosts!.exec('learner', argv, { label: `learner pod (start ${learnerStarts})` });
  }

  function startWorker(host: string, pod: string): void {
    const dir = path.join(tmp, 'pods', pod);
    const folders = volumeFolders(k8s.workerPod, { ...k8s.sources, claims: {} }, dir);
    const serviceName = `${k8s.service.name}.${k8s.service.namespace}.svc`;
    const argv = podArgv(k8s.workerPod, k8s.worker, image, folders, { hostname: pod, dir, hosts: [`${hosts!.address('learner')} ${serviceName}`] });
    const cacheMount = k8s.worker.volumeMounts.find((m) => m.mountPath === k8s.worker.args[k8s.worker.args.indexOf('--cache-dir') + 1])!;
    workers.push({ pod, process: hosts!.exec(host, argv, { label: `worker pod ${pod}` }), cache: folders.get(cacheMount.name)! });
  }

  /** Polls `check`; fails past `ms`, or at once when a pod that should run has stopped, with every pod's output. */
  function until<T>(what: string, check: () => T | undefined, ms = 90_000, running = () => [learner!, ...workers.map((w) => w.process)]): Promise<T> {
    const stopped = () => running().find((p) => !p.running)?.label;
    return poll(what, check, { ms, every: 100, context: () => `the pods' output:\n${hosts!.tails(40)}`, stop: () => (stopped() === undefined ? undefined : `${stopped()} stopped`) });
  }

  before(async function () {
    this.timeout(60_000);
    const prefix = `rlk8s-${process.pid}`;
    const problem = netnsProblem(`${prefix}-probe`) ?? (fs.existsSync('/usr/bin/setpriv') ? null : '`setpriv` is not installed (util-linux)');
    if (problem) {
      console.log(`      skipped: ${problem}`);
      this.skip();
    }
    const leftovers = removeLeftovers('rlk8s');
    if (leftovers.length > 0) console.log(`      removed namespaces left by an earlier run: ${leftovers.join(', ')}`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlk8s-'));
    const config = path.join(tmp, 'corridor-k8s.yaml');
    fs.writeFileSync(
      config,
      `name: corridor-k8s
algorithm: ppo
env: { module: ${JSON.stringify(path.join(root, 'examples', 'corridor', 'corridor.ts'))}, export: Corridor, config: { length: 10 } }
seed: 7
workers: { envsPerWorker: 4, rolloutLength: 64 }
model: { hiddenSizes: [32, 32] }
ppo: { lr: 0.003, numEpochs: 4, minibatchSize: 128, gamma: 0.99 }
stop: { iterations: ${ITERATIONS} }
checkpoint: { every: 3 }
`,
    );
    const out = path.join(tmp, 'k8s');
    const r = await deployKubernetes({ config, image: 'registry.example.com/team/rl-zmq:0.2', workers: 2, out });
    k8s = readObjects(out, r.files);
    image = imageSetup(path.join(root, 'Dockerfile'), root, process.execPath);
    // The claim's folder, as a fresh PersistentVolume with fsGroup: owned by the pod's group, group-writable.
    runDir = path.join(tmp, 'claim');
    fs.mkdirSync(runDir, { mode: 0o2775 });
    fs.chownSync(runDir, 0, k8s.learnerPod.securityContext.fsGroup);
    fs.chmodSync(runDir, 0o2775);
    hosts = Hosts.create(prefix, ['learner', 'w1', 'w2']);
  });

  after(async function () {
    this.timeout(30_000);
    if (process.env.DEBUG_TEST && hosts) console.log(hosts.tails(400));
    await hosts?.destroy();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("runs the manifests' command lines as written, and the learner trains the shipped env with both worker pods", async function () {
    this.timeout(180_000);
    assert.deepEqual(k8s.learner.command, ['rl']);
    assert.deepEqual(k8s.worker.command, ['rl']);
    const connect = k8s.worker.args[k8s.worker.args.indexOf('--connect') + 1];
    assert.equal(connect, `tcp://${k8s.service.name}.${k8s.service.namespace}.svc:5555`, 'the workers connect to the Service by its DNS name');
    learner = startLearner();
    startWorker('w1', `${k8s.workersName}-6d5f8b9c7-a1b2c`);
    startWorker('w2', `${k8s.workersName}-6d5f8b9c7-d3e4f`);
    await until('the learner to start fresh', () => (/^--resume auto: \/var\/lib\/rl\/run holds no checkpoint; starting a fresh run$/m.test(learner!.output()) ? true : undefined));
    await until('an iteration with both worker pods live', () => progressSoFar(runDir).find((p) => p.liveWorkers === 2));
    const bundled = /^env code for remote workers: env\.cjs bundled, .* sha256 ([0-9a-f]{12}) /m.exec(learner.output());
    assert.ok(bundled, `the learner ships the ConfigMap's bundle:\n${learner.tail()}`);
    const fingerprint = keyFingerprint(k8s.sources.secrets[Object.keys(k8s.sources.secrets)[0]]['learner-public.key'].trim());
    for (const w of workers) {
      const joined = new RegExp(
        `^worker \\d+: joined a run of the learner at ${escape(connect)} \\(learner key ${escape(fingerprint)}\\): env \\S+, code sha256 ${bundled[1]} \\(shipped, received\\), 4 envs x 64 steps per batch$`,
        'm',
      );
      // Waited for, not read at once: the progress row can be read before the pipes' lines that came with it.
      await until(`${w.pod} to say it joined`, () => (joined.test(w.process.output()) ? true : undefined), 10_000);
      const pidOne = new RegExp(`^worker \\d+ \\(${escape(w.pod)} pid 1, 4 envs\\) joined; \\d+ live$`, 'm');
      await until(`the learner to name ${w.pod} as pid 1 of its pod, on its own host`, () => (pidOne.test(learner!.output()) ? true : undefined), 10_000);
      const cached = fs.readdirSync(w.cache).filter((f) => /^[0-9a-f]{64}\.js$/.test(f));
      assert.deepEqual(cached.map((f) => f.slice(0, 12)), [bundled[1]], `the code in the cache emptyDir of ${w.pod}`);
    }
    // Written by the pods' user (runAsUser), not root, who reads the Secret's files through the pod's group (0440, root's) without a warning.
    assert.equal(fs.statSync(path.join(runDir, 'progress.jsonl')).uid, k8s.learnerPod.securityContext.runAsUser);
    for (const p of [learner, ...workers.map((w) => w.process)]) assert.doesNotMatch(p.output(), /^warning: /m, p.tail());
  });

  it('resumes from the newest checkpoint when the learner pod is killed -9 and its command started again; the same worker pods rejoin and the run finishes', async function () {
    this.timeout(240_000);
    await until('a checkpoint in the claim', () => (checkpoints(runDir).length > 0 ? true : undefined));
    assert.ok(learner!.running, `the run ended before its learner could be killed:\n${learner!.tail()}`);
    learner!.kill('SIGKILL');
    await learner!.exited();
    // The killed learner's lock stays: pid 1 on the pod's host name, as the restarted one will be (taken over as stale).
    const lock = JSON.parse(fs.readFileSync(path.join(runDir, LOCK_FILE), 'utf8'));
    assert.deepEqual([lock.pid, lock.host], [1, `${k8s.learnerName}-0`]);
    const newest = checkpoints(runDir).pop()!;
    const iteration = Number(/^iter_0*(\d+)$/.exec(newest)![1]);
    assert.ok(iteration < ITERATIONS, `killed before the end (${newest})`);
    learner = startLearner();
    await until('the restarted learner to resume', () => (/^resuming /m.test(learner!.output()) ? true : undefined));
    assert.match(learner.output(), new RegExp(`^resuming /var/lib/rl/run/checkpoints/${newest}: iteration ${iteration},`, 'm'), learner.tail());
    const code = await until('the resumed run to finish', () => (learner!.running ? undefined : learner!.exitCode()), 180_000, () => workers.map((w) => w.process));
    assert.equal(code, 0, learner.tail());
    assert.match(learner.output(), new RegExp(`^done: .*\\. ${ITERATIONS} iterations, `, 'm'), learner.tail());
    for (const w of workers) {
      assert.ok(w.process.running, `${w.pod} exited:\n${w.process.tail()}`);
      assert.match(learner.output(), new RegExp(`^worker \\d+ \\(${escape(w.pod)} pid 1, 4 envs\\) joined; \\d+ live$`, 'm'), `${w.pod} joined the restarted learner`);
      assert.equal(w.process.output().match(/: joined a run of the learner at /g)?.length, 2, `${w.pod}: one run per learner start\n${w.process.tail()}`);
    }
    const rows = progressSoFar(runDir);
    assert.deepEqual(rows.map((r) => r.iteration), Array.from({ length: ITERATIONS }, (_, i) => i + 1), 'no iteration missing or twice');
    assert.ok(rows.slice(iteration).some((r) => r.liveWorkers === 2), 'the restarted learner trained with both worker pods');
  });
});
