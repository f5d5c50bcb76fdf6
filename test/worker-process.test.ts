import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { freePort } from './helpers/free-port';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { generateKeys } from '../src/transport/curve';
import { batchExpectation, decodeLearnerMessage, decodeWorkerMessage, encode, MAX_MODEL_PARAMS, type BatchExpectation, type WorkerMessage, type WorkerSetup } from '../src/transport/protocol';
import { WorkerPool } from '../src/runtime/pool/worker-pool';
import { loadConfig } from '../src/config/load';
import { train } from '../src/runtime/learner';
import { DEFAULT_POLICY, type ParamsById } from '../core/algorithm';
import { cartPolePolicy } from './helpers/hostile-learner';
import { PACKAGE_VERSION } from '../src/version';
import { root, startWorker } from './helpers/cli';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-worker-process-'));

/** What a real CartPole PPO learner would send a worker, for a hand-driven learner. */
async function cartPoleSetup(patch: Partial<WorkerSetup> = {}): Promise<{ setup: WorkerSetup; params: ParamsById }> {
  const { policies, params } = await cartPolePolicy([8]);
  return { setup: { policies, envId: 'CartPole-v1', envConfig: {}, numEnvs: 2, rolloutLength: 4, seed: 0, heartbeatSeconds: 0.5, slot: 0, numSlots: 1, pubEndpoint: 'tcp://127.0.0.1:1', learnerDir: root, instance: 'test', packageVersion: PACKAGE_VERSION, code: null, ...patch }, params };
}

/** A ROUTER that plays learner by hand: `on(msg, reply)` for each worker message. */
/** What a CartPole PPO learner expects of a batch (the fake learner decodes with it). */
async function cartPoleExpectation(): Promise<BatchExpectation> {
  return batchExpectation((await cartPoleSetup()).setup.policies);
}

async function fakeLearner(port: number, on: (msg: WorkerMessage, reply: (m: Parameters<typeof encode>[0]) => void) => void, opts: zmq.SocketOptions<zmq.Router> = {}) {
  const router = new zmq.Router({ linger: 0, ...opts });
  const expectation = await cartPoleExpectation();
  await router.bind(`tcp://127.0.0.1:${port}`);
  void (async () => {
    for await (const [identity, payload] of router) {
      let msg: WorkerMessage;
      try {
        msg = decodeWorkerMessage(payload, expectation);
      } catch {
        continue;
      }
      on(msg, (m) => void router.send([identity, encode(m)]).catch(() => {}));
    }
  })();
  return router;
}

describe('The worker process', () => {
  it('survives, as the learner, a 67,100,005-byte frame of 67,100,000 empty maps: dropped, counted, and the next worker welcomed', async () => {
    const port = await freePort();
    const { setup, params } = await cartPoleSetup();
    const pool = await WorkerPool.start({
      setup, numWorkers: 0, bind: `tcp://127.0.0.1:${port}`, maxPolicyLag: 0, workerTimeoutSeconds: 10, maxWorkerRestarts: 0, heartbeatSeconds: 1, log: () => {},
    });
    const dealer = new zmq.Dealer({ linger: 0 });
    try {
      await pool.broadcast(params, 0);
      dealer.connect(`tcp://127.0.0.1:${port}`);
      const frame = Buffer.alloc(67_100_005, 0x80);
      frame[0] = 0xdd;
      frame.writeUInt32BE(67_100_000, 1);
      await dealer.send(frame);
      await dealer.send(encode({ type: 'hello', host: 'test', pid: 1, numEnvs: null, slot: null }));
      const [reply] = await dealer.receive();
      assert.equal(decodeLearnerMessage(reply).type, 'welcome');
      assert.equal(pool.stats().rejectedMessages, 1);
    } finally {
      dealer.close();
      await pool.close();
    }
  });

  it('refuses a welcome whose env is a .js file outside its --env-dir, without running it, and says so', async () => {
    const port = await freePort();
    const marker = path.join(tmp, 'ran');
    const evil = path.join(tmp, 'evil.js');
    fs.writeFileSync(evil, `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n`);
    const allowed = fs.mkdtempSync(path.join(tmp, 'allowed-'));
    const { setup } = await cartPoleSetup({ envId: `${evil}:MadeUp` });
    const router = await fakeLearner(port, (msg, reply) => {
      if (msg.type === 'hello') reply({ type: 'welcome', workerId: 0, setup });
    });
    const w = startWorker(['--connect', `tcp://127.0.0.1:${port}`, '--env-dir', allowed]);
    try {
      const line = await w.waitFor(/^worker: refusing the learner's run: .*$/m);
      assert.equal(line, `worker: refusing the learner's run: the learner asks for env module ${evil}, which is not inside the allowed ones (${fs.realpathSync(allowed)}); an env module is code, loaded only from a directory its owner names with --env-dir; a learner ships env code only over CURVE (--keys and --learner-key here, --keys and --allowed-keys there)`);
      assert.equal(await w.exited(), 4);
      assert.equal(fs.existsSync(marker), false, 'the worker ran the file');
    } finally {
      w.child.kill('SIGKILL');
      router.close();
    }
  });

  it("drops a setup of 1e9 envs with a line naming the field, and one whose algorithm its version lacks with the promised message", async () => {
    const port = await freePort();
    const { setup, params } = await cartPoleSetup();
    let hellos = 0;
    const short = { [DEFAULT_POLICY]: { ...params[DEFAULT_POLICY], weights: params[DEFAULT_POLICY].weights.slice(1) } };
    const router = await fakeLearner(port, (msg, reply) => {
      if (msg.type === 'weightsRequest') return reply({ type: 'weights', policyVersion: 0, params: short });
      if (msg.type !== 'hello') return;
      hellos += 1;
      // first a setup that would have the worker allocate 1e9 envs, then one for an algorithm it lacks
      const s = hellos === 1 ? { ...setup, numEnvs: 1e9 } : { ...setup, policies: { [DEFAULT_POLICY]: { ...setup.policies[DEFAULT_POLICY], algorithm: 'a2c' } } };
      reply({ type: 'welcome', workerId: 0, setup: s });
      if (hellos === 1) reply({ type: 'unknownWorker' }); // and ask it to say hello again
    });
    const w = startWorker(['--connect', `tcp://127.0.0.1:${port}`]);
    try {
      await w.waitFor(/^worker: dropped a malformed message from the learner \(badField\): 'welcome' message: setup\.numEnvs must be an integer in \[1, 4096\], got 1000000000 .*$/m);
      await w.waitFor(/^worker: refusing the learner's run: the learner's algorithm 'a2c' is not one this worker's version has \(ppo, dqn, sac, impala, appo\); run the learner's version here$/m);
      assert.equal(await w.exited(), 4);
    } finally {
      w.child.kill('SIGKILL');
      router.close();
    }
  });

  it("refuses a setup whose model has more parameters than one message carries, and weights that do not fit the spec's model, naming the tensor", async () => {
    const port = await freePort();
    const { setup, params } = await cartPoleSetup();
    const spec = setup.policies[DEFAULT_POLICY];
    let hellos = 0;
    const short = { [DEFAULT_POLICY]: { ...params[DEFAULT_POLICY], weights: params[DEFAULT_POLICY].weights.slice(1) } };
    const router = await fakeLearner(port, (msg, reply) => {
      if (msg.type === 'weightsRequest') return reply({ type: 'weights', policyVersion: 0, params: short });
      if (msg.type !== 'hello') return;
      hellos += 1;
      // first a model of 2 x 10^10 weights (the welcome itself is small: the worker must not build it), then the real spec with one tensor cut short
      const huge = { ...setup, policies: { [DEFAULT_POLICY]: { ...spec, model: { ...spec.model, hiddenSizes: [100_000, 100_000] } } } };
      reply({ type: 'welcome', workerId: 0, setup: hellos === 1 ? huge : setup });
    });
    const first = startWorker(['--connect', `tcp://127.0.0.1:${port}`]);
    try {
      await first.waitFor(new RegExp(`^worker: refusing the learner's run: the learner's model has \\d+ parameters, more than the ${MAX_MODEL_PARAMS} whose weights fit in one message$`, 'm'));
      assert.equal(await first.exited(), 4);
      const second = startWorker(['--connect', `tcp://127.0.0.1:${port}`]);
      try {
        await second.waitFor(new RegExp(`^worker: refusing the learner's run: the learner's weights \\(policy version 0\\) are not those of the policy its setup describes: ${params[DEFAULT_POLICY].weights[0].name.replace(/[/]/g, '\\/')} is missing$`, 'm'));
        assert.equal(await second.exited(), 4);
      } finally {
        second.child.kill('SIGKILL');
      }
    } finally {
      first.child.kill('SIGKILL');
      router.close();
    }
  });

  it('says at once that the learner uses CURVE when this worker does not, and stops', async () => {
    const port = await freePort();
    const keys = generateKeys(path.join(tmp, 'learner-keys'));
    const router = await fakeLearner(port, () => {}, { curveServer: true, curveSecretKey: keys.secretKey, curvePublicKey: keys.publicKey });
    const w = startWorker(['--connect', `tcp://127.0.0.1:${port}`]);
    try {
      await w.waitFor(/^worker: the learner at tcp:\/\/127\.0\.0\.1:\d+ uses CURVE and this worker does not: give --keys DIR and --learner-key FILE \(the learner's public\.key\), not --insecure; stopping$/m, 10_000);
      assert.equal(await w.exited(), 3);
    } finally {
      w.child.kill('SIGKILL');
      router.close();
    }
  });

  it('says that the CURVE handshake fails, most likely the wrong --learner-key, and keeps trying', async () => {
    const port = await freePort();
    const keys = generateKeys(path.join(tmp, 'learner-keys-2'));
    generateKeys(path.join(tmp, 'other-learner'));
    generateKeys(path.join(tmp, 'worker-keys'));
    const router = await fakeLearner(port, () => {}, { curveServer: true, curveSecretKey: keys.secretKey, curvePublicKey: keys.publicKey });
    const w = startWorker(['--connect', `tcp://127.0.0.1:${port}`, '--keys', path.join(tmp, 'worker-keys'), '--learner-key', path.join(tmp, 'other-learner', 'public.key')]);
    try {
      await w.waitFor(/^worker: the learner at tcp:\/\/127\.0\.0\.1:\d+ takes the connection but the CURVE handshake fails \(\d+ times\): most likely --learner-key is not that learner's public\.key .*; still trying$/m);
      assert.equal(w.child.exitCode, null);
    } finally {
      w.child.kill('SIGKILL');
      router.close();
    }
  });

  it("says the learner's weights port looks unreachable when new weights come only by request", async () => {
    const port = await freePort();
    const closed = await freePort(); // nothing listens there: the broadcast never arrives
    const { setup, params } = await cartPoleSetup({ pubEndpoint: `tcp://127.0.0.1:${closed}` });
    let version = 0;
    const router = await fakeLearner(port, (msg, reply) => {
      if (msg.type === 'hello') reply({ type: 'welcome', workerId: 0, setup });
      if (msg.type === 'hello' || msg.type === 'batch') reply({ type: 'sample', policyVersion: ++version }); // a new policy each batch, "broadcast"
      if (msg.type === 'weightsRequest') reply({ type: 'weights', policyVersion: version, params });
    });
    const w = startWorker(['--connect', `tcp://127.0.0.1:${port}`]);
    try {
      await w.waitFor(new RegExp(`^worker: new weights reach this worker only when it asks for them \\(2 times, none broadcast\\): the learner's weights port tcp://127\\.0\\.0\\.1:${closed} looks unreachable from here \\(a firewall\\?\\); each new policy now waits 2 s$`, 'm'));
    } finally {
      w.child.kill('SIGKILL');
      router.close();
    }
  });

  it('trains with an env of 20 ms steps whose batches take longer than the worker timeout: heartbeats go on between env steps, and the learner names the worker as slow', async () => {
    // 4 envs x 32 steps x 20 ms = 2.6 s a batch, the worker timeout 1.5 s: a worker whose heartbeats stop while it samples is dropped every batch.
    const file = path.join(tmp, 'slow.ts');
    fs.writeFileSync(file, `const { Box, Discrete } = require(${JSON.stringify(path.join(root, 'dist', 'src', 'index.js'))});
export class Slow {
  actionSpace = new Discrete(2);
  observationSpace = new Box(-1, 1, [4]);
  t = 0;
  reset() { this.t = 0; return { obs: new Float32Array(4), info: {} }; }
  step(action: number) {
    const end = Date.now() + 20;
    while (Date.now() < end) { /* a slow simulator */ }
    this.t += 1;
    return { obs: new Float32Array(4).fill(0.1), reward: action, terminated: this.t >= 20, truncated: false, info: {} };
  }
  close() {}
}
`);
    const cfg = loadConfig(path.join(root, 'configs', 'ppo-cartpole.yaml'), [
      `env.module=${file}`, 'env.export=Slow', 'workers.numWorkers=1', 'workers.envsPerWorker=4', 'workers.rolloutLength=32', 'ppo.minibatchSize=64',
      'workers.workerTimeoutSeconds=1.5', 'workers.heartbeatSeconds=0.25', 'stop.iterations=2',
    ]);
    const lines: string[] = [];
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 60_000);
    try {
      const run = await train(cfg, { runDir: path.join(tmp, 'slow-run'), signal: abort.signal, log: (l) => lines.push(l) });
      assert.equal(run.iterations, 2, lines.join('\n'));
    } finally {
      clearTimeout(timer);
    }
    assert.deepEqual(lines.filter((l) => /sent nothing for|restarting/.test(l)), []);
    // ...and the learner says why its batches take so long, once, with the worker's rate.
    const slow = lines.filter((l) => / is slow: /.test(l));
    assert.equal(slow.length, 1, lines.join('\n'));
    assert.match(slow[0], /^worker 0 .* is slow: [\d.]+ env steps\/s, so a batch of 128 steps takes about \d+ s \(more than workerTimeoutSeconds, 1.5\); kept/);
  });
});
