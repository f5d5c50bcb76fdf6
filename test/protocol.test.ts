import { strict as assert } from 'node:assert';
import { pack, unpack } from 'msgpackr';
import { ppo, ppoConfigSchema } from '../algorithms/ppo/ppo';
import { makeEnv, Rng } from '../envs';
import type { TrajectoryBatch, Weights } from '../core/algorithm';
import { selectBackend } from '../src/backend';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import {
  decodeLearnerMessage,
  decodeWorkerMessage,
  encode,
  MessageRejected,
  PROTOCOL_VERSION,
  type BatchExpectation,
  type LearnerMessage,
  type RejectKind,
  type WorkerMessage,
  type WorkerSetup,
} from '../src/transport/protocol';

const expect: BatchExpectation = { obsSize: 4, actionSize: 1, extras: ['logp', 'value'], maxNumEnvs: 8, maxLength: 64, maxBytes: 1 << 20 };

/** 4 envs x 8 steps of a 4-float observation, with two truncated episodes and three finished ones. */
function makeBatch(): TrajectoryBatch {
  const rows = 4 * 8;
  const ramp = (n: number, scale: number) => Float32Array.from({ length: n }, (_, i) => (i - n / 2) * scale);
  const truncated = new Uint8Array(rows);
  truncated[5] = 1;
  truncated[30] = 1;
  const terminated = new Uint8Array(rows);
  terminated[9] = 1;
  return {
    workerId: 2,
    seq: 7,
    policyVersion: 3,
    numEnvs: 4,
    length: 8,
    obs: ramp(rows * 4, 0.01),
    actions: Float32Array.from({ length: rows }, (_, i) => i % 2),
    rewards: new Float32Array(rows).fill(1),
    terminated,
    truncated,
    extras: { logp: ramp(rows, -0.02), value: ramp(rows, 0.5) },
    nextObs: ramp(16, 0.1),
    finalObs: { index: Int32Array.from([5, 30]), obs: ramp(8, 0.3) },
    episodes: { returns: Float32Array.from([12, 200, 9.5]), lengths: Int32Array.from([12, 200, 10]) },
  };
}

function makeWeights(): Weights {
  return [
    { name: 'pi/w', shape: [4, 3], data: Float32Array.from({ length: 12 }, (_, i) => i / 7) },
    { name: 'pi/b', shape: [3], data: Float32Array.from([0.5, -0.25, 0]) },
    { name: 'logStd', shape: [], data: Float32Array.from([-0.5]) },
  ];
}

function makeSetup(): WorkerSetup {
  return {
    spec: {
      algorithm: 'ppo',
      observationSpace: { type: 'Box', shape: [4], low: [-4.8, -Infinity, -0.42, -Infinity], high: [4.8, Infinity, 0.42, Infinity] },
      actionSpace: { type: 'Discrete', n: 2 },
      model: { hiddenSizes: [64, 64], activation: 'tanh', sharedLayers: false },
      config: { clipRange: 0.2, minibatchSize: 64 },
      extras: ['logp', 'value'],
    },
    envId: 'CartPole-v1',
    envConfig: { maxEpisodeSteps: 500 },
    numEnvs: 8,
    rolloutLength: 128,
    seed: 42,
    heartbeatSeconds: 2.5,
    slot: 1,
    numSlots: 2,
    pubEndpoint: 'tcp://10.0.0.1:5556',
    learnerDir: '/home/learner/project',
  };
}

const v = PROTOCOL_VERSION;

function batchMessage(batch = makeBatch()): Buffer {
  return encode({ v, type: 'batch', workerId: batch.workerId, batch });
}

/** Encodes what a faulty or hostile peer might send: any object at all. */
function encodeAny(value: unknown): Buffer {
  return encode(value as WorkerMessage);
}

function assertRejected(decode: () => unknown, kind: RejectKind, message: string | RegExp): void {
  assert.throws(decode, (e: unknown) => {
    assert.ok(e instanceof MessageRejected, `expected MessageRejected, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

/** Node's deepStrictEqual compares prototypes too, so a Buffer where a Float32Array was fails it. */
function assertSameClasses(actual: unknown, expected: unknown, path = 'message'): void {
  if (expected === null || typeof expected !== 'object') return;
  assert.equal(Object.getPrototypeOf(actual), Object.getPrototypeOf(expected), `${path} changed class`);
  if (ArrayBuffer.isView(expected)) return;
  for (const [k, e] of Object.entries(expected)) assertSameClasses((actual as Record<string, unknown>)[k], e, `${path}.${k}`);
}

describe('protocol', () => {
  describe('round trips', () => {
    const worker: WorkerMessage[] = [
      { v, type: 'hello', host: 'box-1', pid: 4242, numEnvs: 8, slot: null },
      { v, type: 'batch', workerId: 2, batch: makeBatch() },
      { v, type: 'heartbeat', workerId: 2, policyVersion: 11 },
      { v, type: 'envError', workerId: 2, envId: 'CartPole-v1', step: 1234, message: 'step() returned 3 observations, expected 4' },
      { v, type: 'weightsRequest', workerId: 0 },
      { v, type: 'bye', workerId: 5 },
    ];
    const learner: LearnerMessage[] = [
      { v, type: 'welcome', workerId: 2, setup: makeSetup(), weights: makeWeights(), policyVersion: 9 },
      { v, type: 'sample', policyVersion: 9 },
      { v, type: 'weights', policyVersion: 10, weights: makeWeights() },
      { v, type: 'heartbeat' },
      { v, type: 'unknownWorker' },
    ];

    it("keeps a 'hello' message with a slot and no numEnvs", () => {
      const msg: WorkerMessage = { v, type: 'hello', host: 'box-2', pid: 1, numEnvs: null, slot: 3 };
      assert.deepStrictEqual(decodeWorkerMessage(encode(msg), expect), msg);
    });
    for (const msg of worker) {
      it(`keeps a worker '${msg.type}' message's values and typed-array classes exactly`, () => {
        const back = decodeWorkerMessage(encode(msg), expect);
        assert.deepStrictEqual(back, msg);
        assertSameClasses(back, msg);
      });
    }
    for (const msg of learner) {
      it(`keeps a learner '${msg.type}' message's values and typed-array classes exactly`, () => {
        const back = decodeLearnerMessage(encode(msg));
        assert.deepStrictEqual(back, msg);
        assertSameClasses(back, msg);
      });
    }

    it('needs its msgpackr options: a plain pack turns a Float32Array into a Buffer', () => {
      const plain = unpack(pack({ a: Float32Array.from([1.5]) }));
      assert.ok(Buffer.isBuffer(plain.a));
      assert.ok(!(plain.a instanceof Float32Array));
    });
  });

  describe('a batch from a real RolloutWorker', () => {
    before(async () => {
      await selectBackend('wasm');
    });

    it('decodes with the expectation of CartPole and PPO, and its welcome with the real spec and weights decodes too', () => {
      const env = makeEnv('CartPole-v1');
      const algo = ppo.create({
        config: ppoConfigSchema.parse({}),
        model: { hiddenSizes: [16, 16], activation: 'tanh', sharedLayers: false },
        observationSpace: env.observationSpace.toSpec(),
        actionSpace: env.actionSpace.toSpec(),
        seed: 3,
        totalEnvs: 4,
        rolloutLength: 64,
      });
      const worker = new RolloutWorker({ workerId: 1, envId: 'CartPole-v1', envConfig: {}, numEnvs: 4, rolloutLength: 64, seed: 3, policy: ppo.createPolicy(algo.policySpec()) });
      try {
        worker.setWeights(algo.getWeights(), 0);
        const batch = worker.sample();
        assert.ok(batch.episodes.lengths.length > 0, 'expected finished episodes in 64 steps of CartPole with a random policy');
        const msg: WorkerMessage = { v, type: 'batch', workerId: 1, batch };
        const back = decodeWorkerMessage(encode(msg), { ...expect, maxNumEnvs: 4, maxLength: 64 });
        assert.deepStrictEqual(back, msg);
        assertSameClasses(back, msg);

        const setup: WorkerSetup = { ...makeSetup(), spec: algo.policySpec(), numEnvs: 4, rolloutLength: 64 };
        const welcome: LearnerMessage = { v, type: 'welcome', workerId: 1, setup, weights: algo.getWeights(), policyVersion: 0 };
        assert.deepStrictEqual(decodeLearnerMessage(encode(welcome)), welcome);
      } finally {
        worker.close();
        algo.dispose();
      }
    });
  });

  describe('rejections', () => {
    const decode = (buf: Buffer) => () => decodeWorkerMessage(buf, expect);

    it('rejects a truncated message as undecodable', () => {
      const buf = batchMessage();
      assertRejected(decode(buf.subarray(0, buf.length - 10)), 'undecodable', /^message is not valid MessagePack: /);
    });

    it('rejects random bytes as undecodable', () => {
      assertRejected(decode(Buffer.from([0xc1, 0x07, 0xff])), 'undecodable', /^message is not valid MessagePack: /);
      assertRejected(decode(Buffer.alloc(0)), 'undecodable', /^message is not valid MessagePack: /);
    });

    it('rejects MessagePack that is not an object as undecodable', () => {
      assertRejected(decode(pack([1, 2, 3])), 'undecodable', 'message is an array of 3, not an object');
      assertRejected(decode(pack('hello')), 'undecodable', 'message is "hello", not an object');
    });

    it('rejects another protocol version', () => {
      const msg = { v: 2, type: 'bye', workerId: 1 };
      assertRejected(decode(encodeAny(msg)), 'version', 'message has protocol version 2, expected 1');
      assertRejected(decode(encodeAny({ type: 'bye', workerId: 1 })), 'version', 'message has protocol version undefined, expected 1');
    });

    it('rejects an unknown message type, and a learner message sent to the learner', () => {
      assertRejected(decode(encodeAny({ v, type: 'gossip' })), 'unknownType', 'message type "gossip" is not one of hello, batch, heartbeat, envError, weightsRequest, bye');
      assertRejected(decode(encodeAny({ v, type: 'welcome' })), 'unknownType', /^message type "welcome" is not one of /);
      assertRejected(() => decodeLearnerMessage(encodeAny({ v, type: 'bye', workerId: 1 })), 'unknownType', /^message type "bye" is not one of welcome, /);
    });

    it('rejects obs of the wrong length, naming the field and the sizes', () => {
      const b = makeBatch();
      b.obs = new Float32Array(17);
      assertRejected(decode(batchMessage(b)), 'badField', "'batch' message: batch.obs has 17 values, expected 4*8*4 = 128");
    });

    it('rejects a NaN reward as non-finite, naming the index', () => {
      const b = makeBatch();
      b.rewards[3] = NaN;
      assertRejected(decode(batchMessage(b)), 'nonFinite', "'batch' message: batch.rewards[3] is NaN");
      const c = makeBatch();
      c.finalObs.obs[6] = -Infinity;
      assertRejected(decode(batchMessage(c)), 'nonFinite', "'batch' message: batch.finalObs.obs[6] is -Infinity");
    });

    it('rejects a terminated value of 2', () => {
      const b = makeBatch();
      b.terminated[4] = 2;
      assertRejected(decode(batchMessage(b)), 'badField', "'batch' message: batch.terminated[4] is 2, must be 0 or 1");
    });

    it('rejects an action that is not one of Discrete(n), when the learner says n', () => {
      const b = makeBatch();
      b.actions[2] = 2;
      assertRejected(() => decodeWorkerMessage(batchMessage(b), { ...expect, actionCount: 2 }), 'badField', "'batch' message: batch.actions[2] is 2, not an action of Discrete(2)");
      const c = makeBatch();
      c.actions[0] = 0.5;
      assertRejected(() => decodeWorkerMessage(batchMessage(c), { ...expect, actionCount: 2 }), 'badField', "'batch' message: batch.actions[0] is 0.5, not an action of Discrete(2)");
    });

    it('rejects a finalObs index out of range or out of order', () => {
      const b = makeBatch();
      b.finalObs.index[1] = 32;
      assertRejected(decode(batchMessage(b)), 'badField', "'batch' message: batch.finalObs.index[1] is 32, must be in [0, 32)");
      const c = makeBatch();
      c.finalObs.index[1] = 5;
      assertRejected(decode(batchMessage(c)), 'badField', "'batch' message: batch.finalObs.index[1] (5) must be greater than the one before (5)");
    });

    it("rejects a hello claiming more envs than a batch may have (1e12 envs would 'cover' every iteration)", () => {
      const hello = { v, type: 'hello', host: 'box', pid: 1, numEnvs: 1e12, slot: null };
      assertRejected(decode(encodeAny(hello)), 'badField', "'hello' message: numEnvs must be an integer in [1, 4096], got 1000000000000");
      assertRejected(decode(encodeAny({ ...hello, numEnvs: null, host: 'h'.repeat(256) })), 'badField', "'hello' message: host has 256 characters, more than 255");
    });

    it("rejects a welcome whose slot is not one of its numSlots", () => {
      const welcome = (slot: number, numSlots: number) => encodeAny({ v, type: 'welcome', workerId: 2, setup: { ...makeSetup(), slot, numSlots }, weights: makeWeights(), policyVersion: 9 });
      assertRejected(() => decodeLearnerMessage(welcome(2, 2)), 'badField', "'welcome' message: setup.slot must be an integer in [0, 1], got 2");
      assertRejected(() => decodeLearnerMessage(welcome(0, 0)), 'badField', "'welcome' message: setup.numSlots must be a positive integer, got 0");
    });

    it('rejects a negative seq', () => {
      const b = makeBatch();
      b.seq = -1;
      assertRejected(decode(batchMessage(b)), 'badField', "'batch' message: batch.seq must be a non-negative integer, got -1");
    });

    it('rejects numEnvs above the expectation, a Buffer for a Uint8Array and a missing extra', () => {
      const b = makeBatch();
      b.numEnvs = 9;
      assertRejected(decode(batchMessage(b)), 'badField', "'batch' message: batch.numEnvs must be an integer in [1, 8], got 9");
      const c = makeBatch();
      c.truncated = Buffer.from(c.truncated);
      assertRejected(decode(batchMessage(c)), 'badField', "'batch' message: batch.truncated must be a Uint8Array, got Buffer(32 bytes)");
      const d = makeBatch();
      delete d.extras.value;
      assertRejected(decode(batchMessage(d)), 'badField', "'batch' message: batch.extras has [logp], expected [logp, value]");
    });

    it("rejects a batch whose workerId is not its message's, and an unknown field", () => {
      assertRejected(decode(encode({ v, type: 'batch', workerId: 3, batch: makeBatch() })), 'badField', "'batch' message: batch.workerId (2) must equal the message's workerId (3)");
      assertRejected(decode(encodeAny({ v, type: 'bye', workerId: 1, extra: true })), 'badField', `'bye' message: message has an unknown field "extra"`);
    });

    it('rejects a message over maxBytes before decoding it', () => {
      const buf = batchMessage();
      assertRejected(() => decodeWorkerMessage(buf, { ...expect, maxBytes: 100 }), 'oversized', `message is ${buf.length} bytes, more than the limit of 100`);
      assertRejected(() => decodeLearnerMessage(Buffer.alloc(101, 0xc1), 100), 'oversized', 'message is 101 bytes, more than the limit of 100');
    });

    it("rejects a weights message whose data length does not match its shape", () => {
      const weights = makeWeights();
      weights[0].data = new Float32Array(11);
      assertRejected(() => decodeLearnerMessage(encode({ v, type: 'weights', policyVersion: 4, weights })), 'badField', "'weights' message: weights[0].data has 11 values, expected 4*3 = 12");
      const nan = makeWeights();
      nan[2].data[0] = NaN;
      assertRejected(() => decodeLearnerMessage(encode({ v, type: 'weights', policyVersion: 4, weights: nan })), 'nonFinite', "'weights' message: weights[2].data[0] is NaN");
    });

    it('rejects an envError whose message is too long, and a welcome whose setup has a bad field', () => {
      const long = 'x'.repeat(10_001);
      assertRejected(decode(encode({ v, type: 'envError', workerId: 1, envId: 'CartPole-v1', step: 3, message: long })), 'badField', "'envError' message: message has 10001 characters, more than 10000");
      const setup = { ...makeSetup(), numEnvs: 0 };
      assertRejected(() => decodeLearnerMessage(encode({ v, type: 'welcome', workerId: 1, setup, weights: makeWeights(), policyVersion: 0 })), 'badField', "'welcome' message: setup.numEnvs must be a positive integer, got 0");
    });
  });

  describe('fuzzing', () => {
    /** A random value built from what messages hold, field names included, so some of it gets past the envelope. */
    function randomValue(rng: Rng, depth: number): unknown {
      const names = ['v', 'type', 'workerId', 'batch', 'obs', 'weights', 'shape', 'data', 'name', 'seq', 'extras', '__proto__', 'constructor'];
      switch (rng.int(depth > 2 ? 6 : 10)) {
        case 0: return [1, 0, -1, 2 ** 40, -0.5, 1e308][rng.int(6)];
        case 1: return [NaN, Infinity, null, undefined, true][rng.int(5)];
        case 2: return ['batch', 'hello', 'weights', '', 'x'.repeat(rng.int(20_000))][rng.int(5)];
        case 3: return Float32Array.from({ length: rng.int(40) }, () => (rng.random() < 0.1 ? NaN : rng.normal()));
        case 4: return [new Int32Array(rng.int(10)), new Uint8Array(rng.int(10)).fill(rng.int(3)), Buffer.alloc(rng.int(10)), new Float64Array(3), BigInt(rng.int(100))][rng.int(5)];
        case 5: return v;
        case 6:
        case 7: return Array.from({ length: rng.int(5) }, () => randomValue(rng, depth + 1));
        default: {
          const o: Record<string, unknown> = {};
          for (let i = rng.int(6); i > 0; i--) {
            // defineProperty, so that '__proto__' is a key as it is on the wire, not the prototype
            Object.defineProperty(o, names[rng.int(names.length)], { value: randomValue(rng, depth + 1), enumerable: true, writable: true, configurable: true });
          }
          return o;
        }
      }
    }

    /** Somewhere in a valid message: replaces or deletes one field, or writes an odd number into one array element. */
    function mutateField(rng: Rng, msg: Record<string, unknown>): void {
      let o = msg;
      for (;;) {
        const keys = Object.keys(o);
        if (keys.length === 0) return;
        const k = keys[rng.int(keys.length)];
        const child = o[k];
        if (ArrayBuffer.isView(child) && (child as Float32Array).length > 0 && rng.random() < 0.5) {
          const a = child as Float32Array;
          return void (a[rng.int(a.length)] = [NaN, Infinity, -Infinity, 2, -1, 1e9][rng.int(6)]);
        }
        if (child && typeof child === 'object' && !ArrayBuffer.isView(child) && rng.random() < 0.7) o = child as Record<string, unknown>;
        else if (rng.random() < 0.2) return void delete o[k];
        else return void (o[k] = randomValue(rng, 1));
      }
    }

    it('rejects 1,000 seeded mutations of valid messages only with MessageRejected', () => {
      const rng = new Rng(2024);
      const valid = [batchMessage(), encode({ v, type: 'welcome', workerId: 2, setup: makeSetup(), weights: makeWeights(), policyVersion: 9 })];
      const outcomes = new Map<string, number>();
      for (let i = 0; i < 1000; i++) {
        const base = valid[i % 2];
        let buf: Buffer;
        switch (rng.int(5)) {
          case 0:
            buf = Buffer.from(Array.from({ length: rng.int(300) }, () => rng.int(256)));
            break;
          case 1:
            buf = base.subarray(0, rng.int(base.length));
            break;
          case 2:
            buf = Buffer.from(base);
            for (let k = 1 + rng.int(8); k > 0; k--) buf[rng.int(buf.length)] = rng.int(256);
            break;
          case 3:
            buf = encodeAny(randomValue(rng, 0));
            break;
          default: {
            const msg = i % 2 ? decodeLearnerMessage(base) : decodeWorkerMessage(base, expect);
            mutateField(rng, msg as unknown as Record<string, unknown>);
            buf = encodeAny(msg);
          }
        }
        for (const decode of [() => decodeWorkerMessage(buf, expect), () => decodeLearnerMessage(buf, expect.maxBytes)]) {
          try {
            decode();
            outcomes.set('decoded', (outcomes.get('decoded') ?? 0) + 1);
          } catch (e) {
            if (!(e instanceof MessageRejected)) assert.fail(`case ${i}: ${e instanceof Error ? e.stack : String(e)}`);
            outcomes.set(e.kind, (outcomes.get(e.kind) ?? 0) + 1);
          }
        }
      }
      // The mutations reach past the envelope: field checks, not just the decoder, reject them.
      for (const kind of ['undecodable', 'version', 'unknownType', 'badField', 'nonFinite', 'decoded']) {
        assert.ok((outcomes.get(kind) ?? 0) > 0, `no '${kind}' outcome in ${JSON.stringify([...outcomes])}`);
      }
    });
  });
});
