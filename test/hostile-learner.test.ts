import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startWorker } from './helpers/cli';
import { cartPoleRun, HostileLearner, withTensor } from './helpers/hostile-learner';

/** Text as the protocol carries code: a plain Uint8Array (a Buffer is refused as malformed). */
const bytes = (text: string) => new Uint8Array(Buffer.from(text));
/** A worker that printed a stack trace: what must never come of anything a learner sends. */
const STACK = /^\s+at .+$|Error: Tensor is disposed|RangeError/m;

describe('rl worker against a hostile learner (over CURVE, the real protocol)', () => {
  const children: ChildProcess[] = [];
  const learners: HostileLearner[] = [];
  const started = async (...args: Parameters<typeof HostileLearner.start>) => {
    const l = await HostileLearner.start(...args);
    learners.push(l);
    return l;
  };
  const worker = (args: string[]) => {
    const w = startWorker(args);
    children.push(w.child);
    return w;
  };
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const l of learners.splice(0)) l.close();
  });

  it("refuses weights sent to it whose pi/1/w is 32x33 where its policy's is 32x32: one line, the learner told, exit code 4", async () => {
    const learner = await started((msg, reply) => {
      if (msg.type !== 'hello') return;
      reply({ type: 'welcome', workerId: 0, setup: run.setup, weights: run.weights, policyVersion: 0 });
      reply({ type: 'weights', policyVersion: 1, weights: withTensor(run.weights, 'pi/1/w', [32, 33], () => 0.01) });
      reply({ type: 'sample', policyVersion: 1 });
    });
    const run = await cartPoleRun(learner);
    const w = worker(learner.workerArgs());
    const reason = "the learner's weights (policy version 1) are not those of the policy its setup describes: pi/1/w is [32, 33], the policy's is [32, 32]";
    assert.equal(await w.waitFor(/^worker: refusing the learner's run: .*$/m, 15_000), `worker: refusing the learner's run: ${reason}`);
    assert.equal(await w.exited(), 4);
    assert.equal((await learner.waitFor('refused')).reason, reason);
    assert.doesNotMatch(w.out(), STACK);
  });

  it('refuses weights of the wrong size broadcast on the PUB socket in the same way, before it samples with them', async () => {
    const learner = await started((msg, reply) => {
      if (msg.type !== 'hello') return;
      reply({ type: 'welcome', workerId: 0, setup: run.setup, weights: run.weights, policyVersion: 0 });
      reply({ type: 'sample', policyVersion: 1 });
    });
    const run = await cartPoleRun(learner);
    const w = worker(learner.workerArgs());
    const bad = withTensor(run.weights, 'pi/1/w', [32, 33], () => 0.01);
    await learner.waitFor('heartbeat');
    // A subscriber hears only what is published after it has joined: publish until the worker ends.
    const timer = setInterval(() => learner.broadcast({ type: 'weights', policyVersion: 1, weights: bad }), 100);
    try {
      assert.equal(await w.exited(15_000), 4, w.out());
    } finally {
      clearInterval(timer);
    }
    assert.match(w.out(), /^worker: refusing the learner's run: the learner's weights \(policy version 1\) are not those of the policy its setup describes: pi\/1\/w is \[32, 33\], the policy's is \[32, 32\]$/m);
    assert.equal((await learner.waitFor('refused')).workerId, 0);
    assert.equal(learner.received.filter((m) => m.type === 'batch').length, 0);
    assert.doesNotMatch(w.out(), STACK);
  });

  it('drops weights holding a NaN, sent or broadcast, says so for each link, counts them, and samples on with the next good weights', async () => {
    const learner = await started((msg, reply) => {
      if (msg.type === 'hello') {
        reply({ type: 'welcome', workerId: 0, setup: run.setup, weights: run.weights, policyVersion: 0 });
        reply({ type: 'sample', policyVersion: 0 });
      }
    });
    const run = await cartPoleRun(learner);
    const nan = withTensor(run.weights, 'pi/0/b', [32], (i) => (i === 0 ? NaN : 0));
    const w = worker(learner.workerArgs());
    await learner.waitFor('batch', (m) => m.batch.policyVersion === 0);
    learner.send({ type: 'weights', policyVersion: 1, weights: nan });
    await w.waitFor(/^worker: dropped a malformed message from the learner \(nonFinite\): 'weights' message: params\.default\.weights\[\d+\]\.data\[0\] is NaN .*$/m);
    const timer = setInterval(() => learner.broadcast({ type: 'weights', policyVersion: 1, weights: nan }), 100);
    try {
      await w.waitFor(/^worker: dropped a malformed broadcast from the learner \(nonFinite\): 'weights' message: params\.default\.weights\[\d+\]\.data\[0\] is NaN .*$/m, 10_000);
    } finally {
      clearInterval(timer);
    }
    learner.send({ type: 'weights', policyVersion: 1, weights: run.weights });
    learner.send({ type: 'sample', policyVersion: 1 });
    await learner.waitFor('batch', (m) => m.batch.policyVersion === 1);
    w.child.kill('SIGTERM');
    assert.equal(await w.exited(), 0);
    assert.match(w.out(), /^worker: malformed messages dropped, by kind: nonFinite 1, broadcast nonFinite [1-9]\d*$/m);
    assert.doesNotMatch(w.out(), STACK);
  });

  it('drops env code it did not ask for, with one line, and samples on', async () => {
    const learner = await started((msg, reply) => {
      if (msg.type !== 'hello') return;
      reply({ type: 'welcome', workerId: 0, setup: run.setup, weights: run.weights, policyVersion: 0 });
      reply({ type: 'code', sha256: 'ab'.repeat(32), source: bytes('module.exports = {};') });
      reply({ type: 'sample', policyVersion: 0 });
    });
    const run = await cartPoleRun(learner);
    const w = worker(learner.workerArgs(['--accept-code', '--cache-dir', path.join(learner.dir, 'cache')]));
    await learner.waitFor('batch');
    assert.match(w.out(), /^worker: dropped env code this worker did not ask for \(further ones are not shown\)$/m);
    assert.equal(fs.existsSync(path.join(learner.dir, 'cache')), false);
    w.child.kill('SIGTERM');
    assert.equal(await w.exited(), 0);
  });

  it('refuses env code it asked for whose bytes have another sha256, and neither keeps nor runs them', async () => {
    const sha256 = createHash('sha256').update('the bundle the learner named').digest('hex');
    const marker = path.join(os.tmpdir(), `rl-hostile-ran-${process.pid}`);
    fs.rmSync(marker, { force: true });
    const learner = await started((msg, reply) => {
      if (msg.type === 'hello') reply({ type: 'welcome', workerId: 0, setup: run.setup, weights: run.weights, policyVersion: 0 });
      if (msg.type === 'codeRequest') reply({ type: 'code', sha256: msg.sha256, source: bytes(`require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran');`) });
    });
    const run = await cartPoleRun(learner, { envId: path.join(learner.dir, 'walk.js:Walk'), code: { sha256, bytes: 100 } });
    const cache = path.join(learner.dir, 'cache');
    const w = worker(learner.workerArgs(['--accept-code', '--cache-dir', cache]));
    assert.equal((await learner.waitFor('codeRequest')).sha256, sha256);
    assert.equal(await w.exited(), 4, w.out());
    assert.match(w.out(), new RegExp(`^worker: refusing the learner's run: the shipped env code failed its check: env code ${sha256}: the source sent under that name has sha256 [0-9a-f]{64}; refused$`, 'm'));
    assert.match((await learner.waitFor('refused')).reason, /^the shipped env code failed its check: /);
    assert.equal(fs.existsSync(path.join(cache, `${sha256}.js`)), false);
    assert.equal(fs.existsSync(marker), false);
  });

  it('refuses the run in one line, exit code 4, when an env that threw fails to build again', async () => {
    const learner = await started((msg, reply) => {
      if (msg.type !== 'hello') return;
      reply({ type: 'welcome', workerId: 0, setup: run.setup, weights: run.weights, policyVersion: 0 });
      reply({ type: 'sample', policyVersion: 0 });
    });
    const dir = fs.mkdtempSync(path.join(learner.dir, 'envs-'));
    fs.writeFileSync(
      path.join(dir, 'fragile.js'),
      `const { Box, Discrete } = require(${JSON.stringify(path.resolve(__dirname, '..', 'src', 'index.js'))});
let built = 0;
class Fragile {
  constructor() {
    if (++built > 2) throw new Error('the simulator licence is in use');
    this.actionSpace = new Discrete(2);
    this.observationSpace = new Box(-1, 1, [4]);
  }
  reset() { return { obs: new Float32Array(4), info: {} }; }
  step() { throw new Error('the simulator crashed'); }
  close() {}
}
module.exports = { Fragile };
`,
    );
    const run = await cartPoleRun(learner, { envId: `${path.join(dir, 'fragile.js')}:Fragile` });
    const w = worker(learner.workerArgs(['--env-dir', dir]));
    assert.equal(await w.exited(), 4, w.out());
    assert.match(w.out(), /^worker: refusing the learner's run: env .*fragile\.js:Fragile failed to build again after it threw: .*the simulator licence is in use$/m);
    assert.equal((await learner.waitFor('envError')).message, 'the simulator crashed');
    await learner.waitFor('refused');
    assert.doesNotMatch(w.out(), STACK);
  });

  it('asks for the weights after a welcome (which carries none), asks again 2 s later when none come, and samples with those that then come', async () => {
    let requests = 0;
    const learner = await started((msg, reply) => {
      if (msg.type === 'hello') reply({ type: 'welcome', workerId: 0, setup: run.setup }); // no weights: the worker must ask
      if (msg.type === 'hello') reply({ type: 'sample', policyVersion: 3 });
      if (msg.type === 'weightsRequest' && ++requests === 2) reply({ type: 'weights', policyVersion: 3, weights: run.weights }); // the first one is "lost"
    });
    const run = await cartPoleRun(learner);
    const w = worker(learner.workerArgs());
    const first = await learner.waitFor('weightsRequest');
    const asked = Date.now();
    assert.equal(first.workerId, 0);
    assert.equal((await learner.waitFor('batch')).batch.policyVersion, 3);
    assert.ok(Date.now() - asked >= 1500, `the batch came ${Date.now() - asked} ms after the first request`);
    assert.equal(requests, 2);
    w.child.kill('SIGTERM');
    assert.equal(await w.exited(), 0);
  });

  describe('SIGTERM ends it with exit code 0 at each of its waits', () => {
    it('while connecting: a hello sent, no welcome', async () => {
      const learner = await started();
      const w = worker(learner.workerArgs());
      await learner.waitFor('hello');
      w.child.kill('SIGTERM');
      assert.equal(await w.exited(5000), 0);
      assert.doesNotMatch(w.out(), STACK);
    });

    it('while awaiting env code it asked for', async () => {
      const sha256 = createHash('sha256').update('never sent').digest('hex');
      const learner = await started((msg, reply) => {
        if (msg.type === 'hello') reply({ type: 'welcome', workerId: 0, setup: run.setup, weights: run.weights, policyVersion: 0 });
      });
      const run = await cartPoleRun(learner, { envId: path.join(learner.dir, 'walk.js:Walk'), code: { sha256, bytes: 100 } });
      const w = worker(learner.workerArgs(['--accept-code', '--cache-dir', path.join(learner.dir, 'cache')]));
      await learner.waitFor('codeRequest');
      w.child.kill('SIGTERM');
      assert.equal(await w.exited(5000), 0);
      assert.doesNotMatch(w.out(), STACK);
    });

    it('while awaiting the weights a sample request needs (four workers at once: the race of the old wait loop lost about half the time)', async () => {
      let next = 0;
      const learner = await started((msg, reply) => {
        if (msg.type !== 'hello') return;
        reply({ type: 'welcome', workerId: next++, setup: run.setup, weights: run.weights, policyVersion: 0 });
        reply({ type: 'sample', policyVersion: 1 }); // weights of version 1 never come
      });
      const run = await cartPoleRun(learner);
      const ws = [0, 1, 2, 3].map(() => worker(learner.workerArgs()));
      for (let id = 0; id < ws.length; id++) await learner.waitFor('heartbeat', (m) => m.workerId === id);
      for (const w of ws) w.child.kill('SIGTERM');
      const codes = await Promise.all(ws.map((w) => w.exited(10_000)));
      assert.deepEqual(codes, [0, 0, 0, 0], ws.map((w) => w.out()).join('\n---\n'));
      for (const w of ws) assert.doesNotMatch(w.out(), STACK);
      assert.equal(learner.received.filter((m) => m.type === 'batch').length, 0);
    });

    it('while ready with no request, saying bye to the learner', async () => {
      const learner = await started((msg, reply) => {
        if (msg.type === 'hello') reply({ type: 'welcome', workerId: 7, setup: run.setup, weights: run.weights, policyVersion: 0 });
      });
      const run = await cartPoleRun(learner);
      const w = worker(learner.workerArgs());
      await learner.waitFor('heartbeat', (m) => m.workerId === 7);
      w.child.kill('SIGTERM');
      assert.equal(await w.exited(5000), 0);
      await learner.waitFor('bye', (m) => m.workerId === 7, 5000);
      assert.doesNotMatch(w.out(), STACK);
    });

    it('while sampling a long batch, which it abandons unsent', async () => {
      const learner = await started((msg, reply) => {
        if (msg.type !== 'hello') return;
        reply({ type: 'welcome', workerId: 0, setup: run.setup, weights: run.weights, policyVersion: 0 });
        reply({ type: 'sample', policyVersion: 0 });
      });
      // 64 envs x 4096 steps: many seconds of sampling, heartbeats saying where it is
      const run = await cartPoleRun(learner, { numEnvs: 64, rolloutLength: 4096 });
      const w = worker(learner.workerArgs());
      await learner.waitFor('heartbeat', (m) => m.sampling !== null && m.sampling.steps > 0);
      w.child.kill('SIGTERM');
      assert.equal(await w.exited(5000), 0);
      assert.equal(learner.received.filter((m) => m.type === 'batch').length, 0);
      assert.doesNotMatch(w.out(), STACK);
    });
  });
});
