import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { freePort } from './helpers/free-port';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { ppo, ppoConfigSchema } from '../algorithms/ppo/ppo';
import { makeEnv } from '../envs';
import { selectBackend } from '../src/backend';
import { WorkerPool, type WorkerPoolOptions } from '../src/runtime/pool/worker-pool';
import { SendQueue } from '../src/transport/send-queue';
import { batchExpectation, decodeLearnerMessage, decodeWorkerMessage, encode, type LearnerMessage, type WorkerSetup } from '../src/transport/protocol';
import { DEFAULT_POLICY, policySpecOf, type ParamsById, type TrajectoryBatch } from '../core/algorithm';
import { PACKAGE_VERSION } from '../src/version';
import { until } from './helpers/until';

const root = path.resolve(__dirname, '..', '..');
const spec = policySpecOf(
  {
    observationSpace: { type: 'Box', shape: [4], low: [-1, -1, -1, -1], high: [1, 1, 1, 1] },
    actionSpace: { type: 'Discrete', n: 2 },
    model: { hiddenSizes: [4], activation: 'tanh', sharedLayers: false },
    config: {},
  },
  { algorithm: 'ppo', columns: [{ name: 'logp', dtype: 'float32', shape: [] }, { name: 'value', dtype: 'float32', shape: [] }] },
);
const policies = { [DEFAULT_POLICY]: spec };
const weights: ParamsById = { [DEFAULT_POLICY]: { weights: [{ name: 'w', shape: [1], data: new Float32Array(1) }], scalars: {} } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startPool(lines: string[], patch: Partial<WorkerPoolOptions> = {}): Promise<{ pool: WorkerPool; endpoint: string }> {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const pool = await WorkerPool.start({
    setup: { policies, envId: 'CartPole-v1', envConfig: {}, numEnvs: 4, rolloutLength: 2, seed: 0, heartbeatSeconds: 1, learnerDir: root },
    numWorkers: 0, bind: endpoint, maxPolicyLag: 0, workerTimeoutSeconds: 10, maxWorkerRestarts: 0, heartbeatSeconds: 1,
    log: (l) => lines.push(l),
    ...patch,
  });
  return { pool, endpoint };
}

/** A worker driven by hand over a DEALER: says hello, and answers each sample request with a valid batch if `answers`. */
class HandWorker {
  readonly dealer = new zmq.Dealer({ linger: 0 });
  private readonly out = new SendQueue(this.dealer);
  private beat: NodeJS.Timeout | null = null;
  readonly welcomes: (LearnerMessage & { type: 'welcome' })[] = [];
  workerId = -1;
  /** The learner instance of the last welcome, which each batch names. */
  instance = '';
  private seq = 0;

  readonly received: LearnerMessage[] = [];

  constructor(endpoint: string, host: string, opts: { numEnvs?: number; answers?: boolean; policyVersion?: number; heartbeats?: boolean; staleFirst?: number } = {}) {
    this.dealer.connect(endpoint);
    void this.out.send(encode({ type: 'hello', host, pid: 1, numEnvs: opts.numEnvs ?? null, slot: null }));
    if (opts.heartbeats) this.beat = setInterval(() => this.workerId >= 0 && void this.send({ type: 'heartbeat', workerId: this.workerId, policyVersion: 0, sampling: null }), 200);
    void this.serve(opts);
  }

  /** `staleFirst`: its first batches name another learner instance, as a worker's from before a learner restart would. */
  private async serve(opts: { answers?: boolean; policyVersion?: number; staleFirst?: number }): Promise<void> {
    let stale = opts.staleFirst ?? 0;
    try {
      for await (const [payload] of this.dealer) {
        const msg = decodeLearnerMessage(payload);
        this.received.push(msg);
        if (msg.type === 'welcome') {
          this.workerId = msg.workerId;
          this.instance = msg.setup.instance;
          this.welcomes.push(msg);
        }
        if (msg.type !== 'sample' || opts.answers === false) continue;
        const rows = 8;
        const batch: TrajectoryBatch = {
          workerId: this.workerId, seq: this.seq++, policyId: DEFAULT_POLICY, policyVersion: opts.policyVersion ?? msg.policyVersion, numEnvs: 4, length: 2,
          obs: new Float32Array(rows * 4), actions: new Float32Array(rows), rewards: new Float32Array(rows).fill(1),
          terminated: new Uint8Array(rows), truncated: new Uint8Array(rows), columns: { logp: new Float32Array(rows), value: new Float32Array(rows) }, state: {},
          nextObs: new Float32Array(16), finalObs: { index: new Int32Array(0), obs: new Float32Array(0) }, nextMasks: null, episodes: { returns: new Float32Array(0), lengths: new Int32Array(0) },
        };
        await this.send({ type: 'batch', workerId: this.workerId, instance: stale-- > 0 ? 'f'.repeat(16) : this.instance, batch });
      }
    } catch (err) {
      if (!this.dealer.closed) throw err; // closed by the test while it answered: the end of it
    }
  }

  send(msg: Parameters<typeof encode>[0]): Promise<void> {
    return this.out.send(encode(msg));
  }

  close(): void {
    if (this.beat) clearInterval(this.beat);
    this.dealer.close();
  }
}

/** `p`, or a rejection after `ms` (a hang fails the test instead of timing it out). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`${what}: still waiting after ${ms} ms`)))]);
}

describe('Worker pool over real sockets', () => {
  it('drops and counts a batch made for another learner instance (one from before a restart), and never hands it out', async () => {
    const lines: string[] = [];
    const { pool, endpoint } = await startPool(lines);
    await pool.broadcast(weights, 0);
    const stale = new HandWorker(endpoint, 'stale', { staleFirst: 3 });
    const good = new HandWorker(endpoint, 'good');
    try {
      await until('two members', () => pool.stats().liveWorkers === 2);
      const seqs: number[] = [];
      // Until the stale worker's first batch of this instance is handed out (the good one may answer many requests first).
      for (const end = Date.now() + 30_000; seqs.length === 0 && Date.now() < end; ) {
        for (const b of await within(pool.collect(16), 10_000, 'collect')) if (b.workerId === stale.workerId) seqs.push(b.seq); // 16 steps: both workers asked each time
      }
      assert.equal(seqs[0], 3, `the stale worker's first batches (seq 0-2) were handed out: ${seqs.join(', ')}`);
      assert.equal(pool.stats().otherLearnerBatches, 3, JSON.stringify(pool.stats()));
      assert.equal(pool.stats().rejectedMessages, 0);
      assert.equal(lines.filter((l) => /^worker \d \(stale pid 1, 4 envs\) sent a batch made for another learner instance \(before a restart\?\); dropped \(counted in otherLearnerBatches\)$/.test(l)).length, 1, lines.join('\n'));
    } finally {
      stale.close();
      good.close();
      await pool.close();
    }
  });

  it('queue mode, decoding on a thread: takes whole batches oldest first, drops and counts those past maxPolicyLag, asks for samples naming no version, and rejects a malformed message as its own thread would', async () => {
    const lines: string[] = [];
    const { pool, endpoint } = await startPool(lines, { streaming: true, queueSize: 4, maxPolicyLag: 1, decodeThreads: 1 });
    await pool.broadcast(weights, 2);
    const stale = new HandWorker(endpoint, 'stale', { policyVersion: 0 }); // two versions behind: every batch dropped
    const fresh = new HandWorker(endpoint, 'fresh', { policyVersion: 2 });
    try {
      await until('two members', () => pool.stats().liveWorkers === 2);
      const got: TrajectoryBatch[] = [];
      for (let i = 0; i < 5; i++) {
        const taken = await within(pool.take(16), 10_000, 'take');
        assert.equal(taken.batches.reduce((s, b) => s + b.numEnvs * b.length, 0), 16, 'two whole batches of 8 steps');
        got.push(...taken.batches);
      }
      assert.ok(got.every((b) => b.workerId === fresh.workerId), 'a stale batch was handed out');
      assert.deepEqual(got.map((b) => b.seq), [...got.keys()], 'oldest first');
      assert.ok(pool.stats().droppedBatches > 0, JSON.stringify(pool.stats()));
      assert.equal(pool.stats().policyLagMax, 0);
      const samples = [...stale.received, ...fresh.received].filter((m) => m.type === 'sample');
      assert.ok(samples.length > 0 && samples.every((m) => m.type === 'sample' && m.policyVersion === 0), 'a sample request named a version');
      await fresh.dealer.send(Buffer.from('not MessagePack'));
      await until('the malformed message counted', () => pool.stats().rejectedMessages >= 1); // then the answer to the request it freed is unsolicited
      assert.ok(lines.some((l) => /^dropped a malformed message \(undecodable\): /.test(l)), lines.join('\n'));
    } finally {
      stale.close();
      fresh.close();
      await pool.close();
    }
  });

  it('sends its env code to a worker that asks for it by sha256, and nothing for another hash', async () => {
    const lines: string[] = [];
    const source = Buffer.from('module.exports = { answer: 42 };');
    const sha256 = require('node:crypto').createHash('sha256').update(source).digest('hex') as string;
    const { pool, endpoint } = await startPool(lines, { setup: { policies, envId: '/learner/env.ts:Env', envConfig: {}, numEnvs: 4, rolloutLength: 2, seed: 0, heartbeatSeconds: 1, learnerDir: root }, code: { sha256, source } });
    await pool.broadcast(weights, 0);
    const w = new HandWorker(endpoint, 'asker', { answers: false });
    try {
      await until('the welcome', () => w.welcomes.length === 1);
      assert.deepEqual(w.welcomes[0].setup.code, { sha256, bytes: source.length });
      await w.send({ type: 'codeRequest', workerId: w.workerId, sha256: '0'.repeat(64) });
      await w.send({ type: 'codeRequest', workerId: w.workerId, sha256 });
      await until('the code', () => w.received.some((m) => m.type === 'code'));
      const code = w.received.filter((m) => m.type === 'code');
      assert.equal(code.length, 1);
      assert.equal(Buffer.from((code[0] as { source: Uint8Array }).source).toString(), source.toString());
      assert.ok(lines.some((l) => /asked for env code this run does not ship \(sha256 000000000000\); ignored$/.test(l)), lines.join('\n'));
    } finally {
      w.close();
      await pool.close();
    }
  });

  it("drops a worker that refuses the run and shows its reason once, escaped", async () => {
    const lines: string[] = [];
    const { pool, endpoint } = await startPool(lines);
    await pool.broadcast(weights, 0);
    const a = new HandWorker(endpoint, 'a', { answers: false });
    const b = new HandWorker(endpoint, 'b', { answers: false });
    try {
      await until('two members', () => pool.stats().liveWorkers === 2);
      for (const w of [a, b]) await w.send({ type: 'refused', workerId: w.workerId, reason: 'no --accept-code\x1b[2K' });
      await until('both dropped', () => pool.stats().liveWorkers === 0);
      const shown = lines.filter((l) => l.includes('refuses to run this run'));
      assert.equal(shown.length, 1, lines.join('\n'));
      assert.match(shown[0], /^worker \d \([ab] pid 1, 4 envs\) refuses to run this run: no --accept-code\\x1b\[2K \(shown once; the run goes on with the other workers\)$/);
      assert.equal(lines.filter((l) => / refused the run; 1 live$| refused the run; 0 live$/.test(l)).length, 2, lines.join('\n'));
    } finally {
      a.close();
      b.close();
      await pool.close();
    }
  });

  it("drops a peer that sends 300 env errors with distinct texts, never the run while two workers deliver, and shows the peer's text escaped in a few lines", async () => {
    const lines: string[] = [];
    const { pool, endpoint } = await startPool(lines);
    await pool.broadcast(weights, 0);
    const good = [new HandWorker(endpoint, 'good-a'), new HandWorker(endpoint, 'good-b')];
    const evil = new HandWorker(endpoint, 'evil\x1b[2K\rdone: fake line', { answers: false });
    try {
      await until('three members', () => pool.stats().liveWorkers === 3);
      for (let i = 0; i < 300; i++) await evil.send({ type: 'envError', workerId: evil.workerId, envId: 'CartPole-v1', step: i, message: `broken #${i}\n\x1b[2Kdone: fake line` });
      for (let i = 0; i < 20; i++) assert.equal((await within(pool.collect(8), 10_000, 'collect')).length, 1);
      await until('the peer dropped', () => pool.stats().liveWorkers === 2);
      assert.ok(lines.every((l) => !/[\x00-\x1f]/.test(l)), lines.join('\n'));
      const aboutEvil = lines.filter((l) => l.includes('evil'));
      assert.ok(aboutEvil.length <= 8, aboutEvil.join('\n'));
      assert.ok(aboutEvil.some((l) => /^worker \d \(evil\\x1b\[2K\\x0ddone: fake line pid 1, 4 envs\) keeps failing: 51 env errors or bad batches and no good batch since; last: env CartPole-v1, step 50: broken #50\\x0a\\x1b\[2Kdone: fake line; 2 live$/.test(l)), aboutEvil.join('\n'));
    } finally {
      [...good, evil].forEach((w) => w.close());
      await pool.close();
    }
  });

  it('holds collect() no longer than the worker timeout for a peer that claims 4096 envs, heartbeats, and never answers', async () => {
    const lines: string[] = [];
    const { pool, endpoint } = await startPool(lines, { workerTimeoutSeconds: 1 });
    const evil = new HandWorker(endpoint, 'big', { numEnvs: 4096, answers: false, heartbeats: true });
    let good: HandWorker | undefined;
    try {
      await sleep(200); // its hello first: it is asked first
      good = new HandWorker(endpoint, 'good', { heartbeats: true });
      await sleep(200);
      await pool.broadcast(weights, 0);
      await until('two members', () => pool.stats().liveWorkers === 2);
      // Without the timeout it waits forever; with it, about a second (more on a starved machine: a learner pause restarts the clock).
      const batches = await within(pool.collect(8), 30_000, 'collect').catch((err: Error) => {
        throw new Error(`${err.message}\n${lines.join('\n')}`);
      });
      assert.deepEqual(batches.map((b) => b.workerId), [good.workerId]);
      await until('the peer given up', () => lines.some((l) => /^worker \d \(big pid 1, 4096 envs\) did not answer a sample request for 1 s; its unfinished batch is discarded; 1 live$/.test(l)), { ms: 3000 });
    } finally {
      evil.close();
      good?.close();
      await pool.close();
    }
  });

  it('gives the same stats when they are read twice, and welcomes a remote worker into slot 0 of 1 when no worker is spawned', async () => {
    const { pool, endpoint } = await startPool([], { maxPolicyLag: 1 });
    await pool.broadcast(weights, 0);
    const stale = new HandWorker(endpoint, 'stale', { policyVersion: 0 }); // always sends batches of version 0
    try {
      await within(pool.collect(8), 10_000, 'collect');
      await pool.broadcast(weights, 1);
      await within(pool.collect(8), 10_000, 'collect'); // a batch of lag 1
      const first = pool.stats();
      assert.equal(first.policyLagMean, 0.5);
      assert.deepEqual(pool.stats(), first);
      assert.deepEqual([stale.welcomes[0].setup.slot, stale.welcomes[0].setup.numSlots], [0, 1]);
    } finally {
      stale.close();
      await pool.close();
    }
  });

  it('answers 5,000 hellos from one peer with at most its bucket of welcomes and not one byte of weights, counting the rest once in the log', async () => {
    const lines: string[] = [];
    const { pool, endpoint } = await startPool(lines);
    const flood = new zmq.Dealer({ linger: 0, sendHighWaterMark: 10_000 });
    try {
      await pool.broadcast(weights, 0);
      flood.connect(endpoint);
      const hello = encode({ type: 'hello', host: 'flood', pid: 1, numEnvs: null, slot: null });
      const start = Date.now();
      for (let i = 0; i < 5000; i++) await flood.send(hello);
      const got = { welcomes: 0, weightsBytes: 0 };
      const counted = () => got.welcomes + pool.stats().ignoredRequests;
      flood.receiveTimeout = 500;
      for (let quiet = 0; quiet < 2 || counted() < 5000; ) {
        const frames = await flood.receive().catch(() => null);
        if (!frames) {
          quiet += 1;
          assert.ok(Date.now() - start < 30_000, `only ${counted()} of 5000 hellos accounted for in 30 s`);
          continue;
        }
        const msg = decodeLearnerMessage(frames[0]);
        if (msg.type === 'welcome') got.welcomes += 1;
        if (msg.type === 'weights') got.weightsBytes += frames[0].length;
      }
      const bucket = 4 + Math.floor(((Date.now() - start) / 1000) * 0.2); // a burst of 4, then one per 5 s
      assert.ok(got.welcomes >= 1 && got.welcomes <= bucket, `${got.welcomes} welcomes, the bucket holds ${bucket}`);
      assert.equal(got.weightsBytes, 0);
      assert.equal(pool.stats().ignoredRequests, 5000 - got.welcomes);
      assert.deepEqual(lines.filter((l) => l.startsWith('hellos past the rate limit')), [
        'hellos past the rate limit (4 a peer, then one per 5 s; 50 a second in all) are dropped unanswered (counted in ignoredRequests, not shown)',
      ]);
    } finally {
      flood.close();
      await pool.close();
    }
  });

  it('sends weights on request only to a member, under its own id, once per policy version', async () => {
    const { pool, endpoint } = await startPool([]);
    const member = new HandWorker(endpoint, 'member', { answers: false });
    const stranger = new zmq.Dealer({ linger: 0 });
    try {
      await pool.broadcast(weights, 0);
      await until('the welcome', () => member.workerId >= 0);
      stranger.connect(endpoint);
      await stranger.send(encode({ type: 'weightsRequest', workerId: member.workerId }));
      assert.equal(decodeLearnerMessage((await stranger.receive())[0]).type, 'unknownWorker');
      for (let i = 0; i < 50; i++) await member.send({ type: 'weightsRequest', workerId: member.workerId });
      await member.send({ type: 'weightsRequest', workerId: member.workerId + 1 });
      await until('51 requests read', () => pool.stats().ignoredRequests === 50);
      await pool.broadcast(weights, 1);
      await member.send({ type: 'weightsRequest', workerId: member.workerId });
      await until('the answer of version 1', () => member.received.some((m) => m.type === 'weights' && m.policyVersion === 1));
      await sleep(200);
      assert.deepEqual(member.received.filter((m) => m.type === 'weights').map((m) => (m as { policyVersion: number }).policyVersion), [0, 1]);
    } finally {
      stranger.close();
      member.close();
      await pool.close();
    }
  });

  it("removes its two ipc socket files on close", async () => {
    const mine = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`rl-${process.pid}-`));
    const before = new Set(mine());
    const { pool } = await startPool([]);
    const made = mine().filter((n) => !before.has(n));
    assert.equal(made.length, 2, made.join(', '));
    await pool.close();
    assert.deepEqual(mine().filter((n) => made.includes(n)), []);
  });

  it("leaves the caller's set of allowed keys as it was, and names a worker without CURVE keys once on the learner's console", async () => {
    const lines: string[] = [];
    const stranger = zmq.curveKeyPair();
    const allowed = new Set([stranger.publicKey]);
    const { pool, endpoint } = await startPool(lines, { curve: { pair: zmq.curveKeyPair(), allowed } });
    const plain = [new zmq.Dealer({ linger: 0 }), new zmq.Dealer({ linger: 0 })];
    try {
      assert.deepEqual([...allowed], [stranger.publicKey]);
      for (const d of plain) {
        d.connect(endpoint);
        void d.send('hello?').catch(() => {});
      }
      await until('the refusal named', () => lines.some((l) => l.startsWith('refused a worker without CURVE keys')), { ms: 5000 });
      await sleep(1000); // they retry: still once
      assert.equal(lines.filter((l) => l.startsWith('refused ')).length, 1, lines.join('\n'));
      assert.match(lines.find((l) => l.startsWith('refused '))!, /^refused a worker without CURVE keys \(started with --insecure\?\) at tcp:\/\/127\.0\.0\.1:\d+ \(\w+\); further ones are not logged$/);
    } finally {
      plain.forEach((d) => d.close());
      await pool.close();
    }
  });

  it("sends nothing under its old worker id once the learner says it does not know it (a batch or weights request of workerId -1 was logged as malformed)", async function () {
    await selectBackend('cpu'); // the policy's optimizer makes tensors at once: a backend must be ready, not still starting
    const env = makeEnv('CartPole-v1');
    const algo = ppo.create({ config: ppoConfigSchema.parse({}), model: { hiddenSizes: [4], activation: 'tanh', sharedLayers: false }, observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec(), seed: 0, totalEnvs: 4, rolloutLength: 2 });
    const port = await freePort();
    const learner = new zmq.Router({ linger: 0 });
    await learner.bind(`tcp://127.0.0.1:${port}`);
    const child = spawn(process.execPath, [path.join(root, 'dist', 'src', 'cli.js'), 'worker', '--connect', `tcp://127.0.0.1:${port}`], { cwd: root });
    const expectation = batchExpectation(algo.policySpecs());
    const got: string[] = [];
    try {
      const setup: WorkerSetup = { policies: algo.policySpecs(), envId: 'CartPole-v1', envConfig: {}, numEnvs: 4, rolloutLength: 2, seed: 0, heartbeatSeconds: 1, slot: 0, numSlots: 1, pubEndpoint: `tcp://127.0.0.1:${port + 1}`, learnerDir: root, instance: 'test', packageVersion: PACKAGE_VERSION, code: null };
      learner.receiveTimeout = 20_000;
      const [identity] = await learner.receive(); // its hello
      await learner.send([identity, encode({ type: 'welcome', workerId: 7, setup })]);
      const [, ask] = await learner.receive(); // on its welcome it asks for weights
      assert.deepEqual(decodeWorkerMessage(ask, expectation), { type: 'weightsRequest', workerId: 7 });
      await learner.send([identity, encode({ type: 'weights', policyVersion: 0, params: algo.getParams() })]);
      await learner.send([identity, encode({ type: 'sample', policyVersion: 5 })]); // weights it has not got: it waits for them
      await sleep(300);
      await learner.send([identity, encode({ type: 'unknownWorker' })]);
      for (const end = Date.now() + 3500; Date.now() < end; ) {
        learner.receiveTimeout = Math.max(1, end - Date.now());
        const frames = await learner.receive().catch(() => null);
        if (!frames) break;
        let text: string;
        try {
          const msg = decodeWorkerMessage(frames[1], expectation);
          text = msg.type === 'hello' || msg.type === 'heartbeat' ? msg.type : `${msg.type} of worker ${msg.workerId}`;
        } catch (err) {
          text = `malformed: ${(err as Error).message}`;
        }
        got.push(text);
        if (text.startsWith('malformed: \'weightsRequest')) await learner.send([frames[0], encode({ type: 'weights', policyVersion: 5, params: algo.getParams() })]);
      }
      assert.deepEqual(got.filter((t) => t !== 'heartbeat'), ['hello'], got.join('\n'));
    } finally {
      child.kill('SIGTERM');
      learner.close();
      algo.dispose();
    }
  });
});
