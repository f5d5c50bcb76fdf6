import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { pack, unpack } from 'msgpackr';
import { ppo, ppoConfigSchema } from '../algorithms/ppo/ppo';
import { makeEnv } from '../envs';
import { selectBackend } from '../src/backend';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import { LocalSampler } from '../src/runtime/sampler';
import {
  batchExpectation,
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
  validateBatch,
} from '../src/transport/protocol';
import { ACTION_MASK, DEFAULT_POLICY, type PolicySpec, type TrajectoryBatch } from '../core/algorithm';
import { everyLearnerMessage, everyWorkerMessage, makeBatch, makeParams, makeSetup, makeSpec } from './helpers/protocol-fixtures';

const expect: BatchExpectation = { ...batchExpectation(makeSetup().policies, 1 << 20), maxNumEnvs: 8, maxLength: 64 };

/** The expectation of a run whose one policy is `spec`. */
function expectFor(spec: PolicySpec): BatchExpectation {
  return { ...expect, policies: { [spec.policyId]: spec } };
}

/** A Discrete(3) run whose env gives action masks: the batch of makeBatch() with actions legal under its masks. */
function maskedSpec(): PolicySpec {
  return { ...makeSpec(), actionSpace: { type: 'Discrete', n: 3 }, actionMask: true };
}

function maskedBatch(): TrajectoryBatch {
  const b = makeBatch();
  const rows = b.numEnvs * b.length;
  const mask = new Uint8Array(rows * 3);
  for (let r = 0; r < rows; r++) {
    mask[r * 3 + (r % 3)] = 1; // action r % 3 legal in row r, and action 2 too in even rows
    if (r % 2 === 0) mask[r * 3 + 2] = 1;
    b.actions[r] = r % 3;
  }
  b.columns[ACTION_MASK] = mask;
  b.nextMasks = { next: new Uint8Array(b.numEnvs * 3).fill(1), final: Uint8Array.from([1, 0, 0, 0, 1, 1]) };
  return b;
}

/** A run of a picture: Box(2, 2) of uint8, as an Atari-like env gives it. */
function uint8Spec(): PolicySpec {
  return { ...makeSpec(), observationSpace: { type: 'Box', shape: [2, 2], low: [0, 0, 0, 0], high: [255, 255, 255, 255], dtype: 'uint8' } };
}

function uint8Batch(): TrajectoryBatch {
  const b = makeBatch();
  const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 37) % 256);
  b.obs = bytes(32 * 4);
  b.nextObs = bytes(16);
  b.finalObs.obs = bytes(8);
  return b;
}

function batchMessage(batch = makeBatch()): Buffer {
  return encode({ type: 'batch', workerId: batch.workerId, instance: 'i', batch });
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
    const worker: WorkerMessage[] = [...everyWorkerMessage(), { type: 'heartbeat', workerId: 3, policyVersion: 11, sampling: null }];
    const learner: LearnerMessage[] = everyLearnerMessage();

    it("keeps a 'hello' message with a slot and no numEnvs", () => {
      const msg: WorkerMessage = { type: 'hello', host: 'box-2', pid: 1, numEnvs: null, slot: 3 };
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

    it('decodes with the expectation of CartPole and PPO, and its welcome with the real spec and its weights message decode too', () => {
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
      const spec = algo.policySpecs()[DEFAULT_POLICY];
      const worker = new RolloutWorker({ workerId: 1, envId: 'CartPole-v1', envConfig: {}, numEnvs: 4, rolloutLength: 64, seed: 3, policy: ppo.createPolicy(spec), spec });
      try {
        worker.setParams(algo.getParams()[DEFAULT_POLICY], 0);
        const batch = worker.sample();
        assert.ok(batch.episodes.lengths.length > 0, 'expected finished episodes in 64 steps of CartPole with a random policy');
        const msg: WorkerMessage = { type: 'batch', workerId: 1, instance: 'i', batch };
        const back = decodeWorkerMessage(encode(msg), batchExpectation(algo.policySpecs()));
        assert.deepStrictEqual(back, msg);
        assertSameClasses(back, msg);

        const setup: WorkerSetup = { ...makeSetup(), policies: algo.policySpecs(), numEnvs: 4, rolloutLength: 64 };
        const welcome: LearnerMessage = { type: 'welcome', workerId: 1, setup };
        assert.deepStrictEqual(decodeLearnerMessage(encode(welcome)), welcome);
        const weights: LearnerMessage = { type: 'weights', policyVersion: 0, params: algo.getParams() };
        assert.deepStrictEqual(decodeLearnerMessage(encode(weights)), weights);
      } finally {
        worker.close();
        algo.dispose();
      }
    });
  });

  describe('local mode', () => {
    before(async () => {
      await selectBackend('wasm');
    });

    it("checks a local worker's batches with the decoder's rule: what the run's spec declares and the batch lacks is refused", async () => {
      const env = makeEnv('CartPole-v1');
      const spaces = { observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec() };
      const algo = ppo.create({ config: ppoConfigSchema.parse({}), model: { hiddenSizes: [8], activation: 'tanh', sharedLayers: false }, ...spaces, seed: 1, totalEnvs: 2, rolloutLength: 8 });
      const spec = algo.policySpecs()[DEFAULT_POLICY];
      const worker = () => {
        const w = new RolloutWorker({ workerId: 0, envId: 'CartPole-v1', envConfig: {}, numEnvs: 2, rolloutLength: 8, seed: 1, policy: ppo.createPolicy(spec), spec });
        w.setParams(algo.getParams()[DEFAULT_POLICY], 0);
        return w;
      };
      const good = new LocalSampler(worker(), batchExpectation(algo.policySpecs()));
      const wider: PolicySpec = { ...spec, columns: [...spec.columns, { name: 'entropy', dtype: 'float32', shape: [] }] };
      const bad = new LocalSampler(worker(), batchExpectation({ [DEFAULT_POLICY]: wider }));
      try {
        const [batch] = await good.collect(16);
        assert.deepEqual(Object.keys(batch.columns), ['logp', 'value']);
        assert.doesNotThrow(() => validateBatch(batch, batchExpectation(algo.policySpecs())));
        await assert.rejects(bad.collect(16), (e: unknown) => e instanceof MessageRejected && e.message === "'batch' message: batch.columns has [logp, value], expected [entropy, logp, value]");
        batch.columns.logp[3] = NaN;
        assertRejected(() => validateBatch(batch, batchExpectation(algo.policySpecs())), 'nonFinite', "'batch' message: batch.columns.logp[3] is NaN");
      } finally {
        await good.close();
        await bad.close();
        algo.dispose();
      }
    });
  });

  describe('rejections', () => {
    const decode = (buf: Buffer) => () => decodeWorkerMessage(buf, expect);

    it('rejects a truncated message as undecodable', () => {
      const buf = batchMessage();
      assertRejected(decode(buf.subarray(0, buf.length - 10)), 'undecodable', /^message is not MessagePack the protocol writes: /);
    });

    it('rejects random bytes as undecodable', () => {
      assertRejected(decode(Buffer.from([0xc1, 0x07, 0xff])), 'undecodable', /^message is not MessagePack the protocol writes: /);
      assertRejected(decode(Buffer.alloc(0)), 'undecodable', /^message is not MessagePack the protocol writes: /);
    });

    it('rejects MessagePack that is not an object as undecodable', () => {
      assertRejected(decode(pack([1, 2, 3])), 'undecodable', 'message is [1, 2, 3], not an object');
      assertRejected(decode(pack('hello')), 'undecodable', 'message is "hello", not an object');
    });

    it('rejects another protocol version', () => {
      const msg = { v: 1, type: 'bye', workerId: 1 }; // encode() writes the version, unless the message says another
      assertRejected(decode(encodeAny(msg)), 'version', `message has protocol version 1, expected ${PROTOCOL_VERSION}`);
      assertRejected(decode(pack({ type: 'bye', workerId: 1 })), 'version', `message has protocol version undefined, expected ${PROTOCOL_VERSION}`);
    });

    it('rejects an unknown message type, and a learner message sent to the learner', () => {
      assertRejected(decode(encodeAny({ type: 'gossip' })), 'unknownType', 'message type "gossip" is not one of hello, batch, games, heartbeat, envError, weightsRequest, codeRequest, refused, bye');
      assertRejected(decode(encodeAny({ type: 'welcome' })), 'unknownType', /^message type "welcome" is not one of /);
      assertRejected(() => decodeLearnerMessage(encodeAny({ type: 'bye', workerId: 1 })), 'unknownType', /^message type "bye" is not one of welcome, /);
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

    it('rejects an action that is not one of Discrete(n) of the policy spec', () => {
      const b = makeBatch();
      b.actions[2] = 2;
      assertRejected(decode(batchMessage(b)), 'badField', "'batch' message: batch.actions[2] is 2, not an action of Discrete(2)");
      const c = makeBatch();
      c.actions[0] = 0.5;
      assertRejected(decode(batchMessage(c)), 'badField', "'batch' message: batch.actions[0] is 0.5, not an action of Discrete(2)");
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
      const hello = { type: 'hello', host: 'box', pid: 1, numEnvs: 1e12, slot: null };
      assertRejected(decode(encodeAny(hello)), 'badField', "'hello' message: numEnvs must be an integer in [1, 4096], got 1000000000000");
      assertRejected(decode(encodeAny({ ...hello, numEnvs: null, host: 'h'.repeat(256) })), 'badField', "'hello' message: host has 256 characters, more than 255");
    });

    it("rejects a welcome whose slot is not one of its numSlots", () => {
      const welcome = (slot: number, numSlots: number) => encodeAny({ type: 'welcome', workerId: 2, setup: { ...makeSetup(), slot, numSlots } });
      assertRejected(() => decodeLearnerMessage(welcome(2, 2)), 'badField', "'welcome' message: setup.slot must be an integer in [0, 1], got 2");
      assertRejected(() => decodeLearnerMessage(welcome(0, 0)), 'badField', "'welcome' message: setup.numSlots must be a positive integer, got 0");
    });

    it('rejects a negative seq', () => {
      const b = makeBatch();
      b.seq = -1;
      assertRejected(decode(batchMessage(b)), 'badField', "'batch' message: batch.seq must be a non-negative integer, got -1");
    });

    it('rejects numEnvs above the expectation and a Buffer for a Uint8Array', () => {
      const b = makeBatch();
      b.numEnvs = 9;
      assertRejected(decode(batchMessage(b)), 'badField', "'batch' message: batch.numEnvs must be an integer in [1, 8], got 9");
      const c = makeBatch();
      c.truncated = Buffer.from(c.truncated);
      assertRejected(decode(batchMessage(c)), 'badField', "'batch' message: batch.truncated must be a Uint8Array, got Buffer(32)");
    });

    it('rejects a batch missing a column its spec declares', () => {
      const b = makeBatch();
      delete b.columns.value;
      assertRejected(decode(batchMessage(b)), 'badField', "'batch' message: batch.columns has [logp], expected [logp, value]");
    });

    it('rejects a batch with a column its spec does not declare', () => {
      const b = makeBatch();
      b.columns.entropy = new Float32Array(32);
      assertRejected(decode(batchMessage(b)), 'badField', "'batch' message: batch.columns has [entropy, logp, value], expected [logp, value]");
      const c = makeBatch();
      c.columns[ACTION_MASK] = new Uint8Array(32 * 2).fill(1); // a mask from a run whose env gives none
      assertRejected(decode(batchMessage(c)), 'badField', `'batch' message: batch.columns has [${ACTION_MASK}, logp, value], expected [logp, value]`);
    });

    it('rejects a column of another dtype than its spec declares', () => {
      const b = makeBatch();
      b.columns.value = Int32Array.from(b.columns.value);
      assertRejected(decode(batchMessage(b)), 'badField', "'batch' message: batch.columns.value must be a Float32Array, got Int32Array(32)");
      const spec = makeSpec();
      spec.columns = [{ name: 'logp', dtype: 'float32', shape: [] }, { name: 'value', dtype: 'int32', shape: [] }];
      const c = makeBatch();
      assertRejected(() => decodeWorkerMessage(batchMessage(c), expectFor(spec)), 'badField', "'batch' message: batch.columns.value must be a Int32Array, got Float32Array(32)");
      c.columns.value = new Int32Array(32);
      assert.equal(decodeWorkerMessage(batchMessage(c), expectFor(spec)).type, 'batch');
    });

    it('rejects a batch of a policy that is not in the run', () => {
      const b = makeBatch();
      b.policyId = 'opponent';
      assertRejected(decode(batchMessage(b)), 'badField', `'batch' message: batch.policyId "opponent" is not a policy of this run (${DEFAULT_POLICY})`);
    });

    it('accepts a masked batch whose actions are legal, and rejects a mask row with no legal action', () => {
      const masked = expectFor(maskedSpec());
      assert.equal(decodeWorkerMessage(batchMessage(maskedBatch()), masked).type, 'batch');
      const b = maskedBatch();
      (b.columns[ACTION_MASK] as Uint8Array).fill(0, 7 * 3, 8 * 3);
      assertRejected(() => decodeWorkerMessage(batchMessage(b), masked), 'badField', `'batch' message: batch.columns.${ACTION_MASK} row 7 leaves no legal action`);
      const c = maskedBatch();
      c.nextMasks!.final.fill(0, 3, 6);
      assertRejected(() => decodeWorkerMessage(batchMessage(c), masked), 'badField', "'batch' message: batch.nextMasks.final row 1 leaves no legal action");
      const d = maskedBatch();
      d.nextMasks = null;
      assertRejected(() => decodeWorkerMessage(batchMessage(d), masked), 'badField', "'batch' message: batch.nextMasks must be an object, got null");
    });

    it('rejects an action that its row\'s mask forbids', () => {
      const b = maskedBatch();
      b.actions[5] = 0; // row 5 allows action 2 only (5 % 3 = 2, odd row)
      assertRejected(() => decodeWorkerMessage(batchMessage(b), expectFor(maskedSpec())), 'badField', `'batch' message: batch.actions[5] (0) is illegal under its row's ${ACTION_MASK}`);
    });

    it('accepts uint8 observations for a uint8 Box spec, and refuses them as a Float32Array', () => {
      const spec = uint8Spec();
      const msg: WorkerMessage = { type: 'batch', workerId: 2, instance: 'i', batch: uint8Batch() };
      const back = decodeWorkerMessage(encode(msg), expectFor(spec));
      assert.deepStrictEqual(back, msg);
      assertSameClasses(back, msg);
      const f = uint8Batch();
      f.obs = Float32Array.from(f.obs);
      assertRejected(() => decodeWorkerMessage(batchMessage(f), expectFor(spec)), 'badField', "'batch' message: batch.obs must be a Uint8Array, got Float32Array(128)");
      // and the other way: bytes where the spec says float32
      assertRejected(decode(batchMessage(uint8Batch())), 'badField', "'batch' message: batch.obs must be a Float32Array, got Uint8Array(128)");
    });

    it("rejects a batch whose workerId is not its message's, and an unknown field", () => {
      assertRejected(decode(encode({ type: 'batch', workerId: 3, instance: 'i', batch: makeBatch() })), 'badField', "'batch' message: batch.workerId (2) must equal the message's workerId (3)");
      assertRejected(decode(encodeAny({ type: 'bye', workerId: 1, extra: true })), 'badField', `'bye' message: message has an unknown field "extra"`);
    });

    it('rejects a message over maxBytes before decoding it', () => {
      const buf = batchMessage();
      assertRejected(() => decodeWorkerMessage(buf, { ...expect, maxBytes: 100 }), 'oversized', `message is ${buf.length} bytes, more than the limit of 100`);
      assertRejected(() => decodeLearnerMessage(Buffer.alloc(101, 0xc1), 100), 'oversized', 'message is 101 bytes, more than the limit of 100');
    });

    it("rejects a weights message whose data length does not match its shape", () => {
      const params = makeParams();
      params.default.weights[0].data = new Float32Array(11);
      assertRejected(() => decodeLearnerMessage(encode({ type: 'weights', policyVersion: 4, params })), 'badField', "'weights' message: params.default.weights[0].data has 11 values, expected 4*3 = 12");
      const nan = makeParams();
      nan.default.weights[2].data[0] = NaN;
      assertRejected(() => decodeLearnerMessage(encode({ type: 'weights', policyVersion: 4, params: nan })), 'nonFinite', "'weights' message: params.default.weights[2].data[0] is NaN");
    });

    it('rejects params whose scalars are NaN, infinite or not numbers', () => {
      for (const [value, kind, text] of [[NaN, 'nonFinite', 'is NaN'], [Infinity, 'nonFinite', 'is Infinity'], ['0.1', 'badField', 'must be a number, got "0.1"']] as const) {
        const params = makeParams();
        (params.default.scalars as Record<string, unknown>).epsilon = value;
        assertRejected(() => decodeLearnerMessage(encode({ type: 'weights', policyVersion: 4, params })), kind, `'weights' message: params.default.scalars.epsilon ${text}`);
      }
    });

    it('rejects an envError whose message is too long, and a welcome whose setup has a bad field', () => {
      const long = 'x'.repeat(10_001);
      assertRejected(decode(encode({ type: 'envError', workerId: 1, envId: 'CartPole-v1', step: 3, message: long })), 'badField', "'envError' message: message has 10001 characters, more than 10000");
      const setup = { ...makeSetup(), numEnvs: 0 };
      assertRejected(() => decodeLearnerMessage(encode({ type: 'welcome', workerId: 1, setup })), 'badField', "'welcome' message: setup.numEnvs must be an integer in [1, 4096], got 0");
    });
  });

  describe('what a message may decode to, bounded before it is decoded', () => {
    const decode = (buf: Buffer) => () => decodeWorkerMessage(buf, expect);

    /** The frame that killed the learner (issue 11): an array header of `n` entries, then `n` empty maps. */
    function emptyMaps(n: number): Buffer {
      const buf = Buffer.alloc(5 + n, 0x80);
      buf[0] = 0xdd;
      buf.writeUInt32BE(n, 1);
      return buf;
    }

    it('rejects 67,100,000 empty maps in a 67,100,005-byte frame on both sides, as oversized, without building them', () => {
      const frame = emptyMaps(67_100_000);
      const heap = process.memoryUsage().heapUsed;
      assertRejected(() => decodeWorkerMessage(frame, { ...expect, maxBytes: 64 * 1024 * 1024 }), 'oversized', /^message would decode to too much: more than \d+ entries in maps and arrays$/);
      assertRejected(() => decodeLearnerMessage(frame), 'oversized', /^message would decode to too much: more than \d+ entries in maps and arrays$/);
      assert.ok(process.memoryUsage().heapUsed - heap < 64 * 1024 * 1024, 'the decoders built something big');
    });

    it("bounds each type by its own limits: a hello holding 100 entries is refused, a welcome's Box of 1,000 is not", () => {
      const hello = { type: 'hello', host: 'h', pid: 1, numEnvs: null, slot: null, extra: Array.from({ length: 100 }, () => 0) };
      assertRejected(decode(pack({ v: PROTOCOL_VERSION, ...hello })), 'oversized', "'hello' message would decode to 107 entries in maps and arrays, more than 16");
      const setup = makeSetup();
      setup.policies.default.observationSpace = { type: 'Box', shape: [1000], low: new Array(1000).fill(-1), high: new Array(1000).fill(1) };
      assert.equal(decodeLearnerMessage(encode({ type: 'welcome', workerId: 1, setup })).type, 'welcome');
    });

    it('rejects nesting deeper than a type allows, and a map key that is not a string', () => {
      let deep: unknown = 1;
      for (let i = 0; i < 50; i++) deep = [deep];
      assertRejected(decode(encode({ type: 'hello', host: deep } as never)), 'oversized', 'message would decode to too much: nesting deeper than 4');
      const numberKey = Buffer.from([0x82, 0xa1, 0x76, PROTOCOL_VERSION, 0x01, 0x02]); // { v: 2, 1: 2 }
      assertRejected(decode(numberKey), 'undecodable', 'message is not MessagePack the protocol writes: a map key at byte 4 is not a string');
    });

    it("refuses msgpackr's extensions other than its typed arrays of the classes carried: records, sets, dates, Float64Array", () => {
      const withField = (bytes: number[]) => Buffer.concat([Buffer.from(encode({ type: 'bye', workerId: 1 })).subarray(0, -1), Buffer.from(bytes)]);
      assertRejected(decode(withField([0xd4, 0x72, 0x40])), 'undecodable', /extension type 114 \(only typed arrays, 116, are accepted\)$/);
      assertRejected(decode(withField([0xd4, 0x73, 0x90])), 'undecodable', /extension type 115 /);
      assertRejected(decode(encode({ type: 'bye', workerId: new Date(0) } as never)), 'undecodable', /extension type 255 /);
      assertRejected(decode(encode({ type: 'bye', workerId: new Float64Array(2) } as never)), 'undecodable', /typed-array class code 8 \(only Uint8Array 1, Int32Array 5, Float32Array 7 are accepted\)$/);
    });

    it('refuses a setup that would make a worker build more than a message can carry: 1e9 envs, batches over the limit', () => {
      const welcome = (setup: WorkerSetup) => () => decodeLearnerMessage(encode({ type: 'welcome', workerId: 1, setup }));
      assertRejected(welcome({ ...makeSetup(), numEnvs: 1e9 }), 'badField', "'welcome' message: setup.numEnvs must be an integer in [1, 4096], got 1000000000");
      assertRejected(welcome({ ...makeSetup(), numEnvs: 4096, rolloutLength: 65536 }), 'badField', /^'welcome' message: setup: numEnvs 4096 x rolloutLength 65536 make batches of policy default of \d+ bytes, more than the 67108864 a message may be$/);
      // A recurrent state the worker would hold for every env counts too: 16 x 65,536 floats for 4,096 envs is 17 GB.
      const state = Array.from({ length: 16 }, (_, i) => ({ name: `h${i}`, size: 65_536 }));
      assertRejected(welcome({ ...makeSetup(), numEnvs: 4096, rolloutLength: 1, policies: { [DEFAULT_POLICY]: { ...makeSpec(), state } } }), 'badField', /^'welcome' message: setup: numEnvs 4096 x rolloutLength 1 make batches of policy default of \d+ bytes, more than the 67108864 a message may be$/);
      // (a huge model is the worker's to refuse, by its algorithm's weightShapes: worker-process.test.ts)
      assertRejected(welcome({ ...makeSetup(), heartbeatSeconds: 1e9 }), 'badField', "'welcome' message: setup.heartbeatSeconds must be a number of seconds in [0.01, 3600], got 1000000000");
    });
  });

  describe('fuzzing', () => {
    it('rejects 3,000 seeded random and mutated messages of every type, both directions, only with MessageRejected, in a 256 MB heap', () => {
      // 256 MB: above what the largest message its limits accept decodes to (a welcome at the
      // fuzz's 16 MB frame limit: about 100 MB), below what one 16 MB frame of empty maps
      // builds when nothing bounds it (16M objects, about 1 GB: that frame kills such a process).
      const r = spawnSync(process.execPath, ['--max-old-space-size=256', path.join(__dirname, 'helpers', 'protocol-fuzz.js'), '3000', '2024'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      const { outcomes } = JSON.parse(r.stdout) as { outcomes: Record<string, number> };
      // The mutations reach past the envelope: field checks, not just the decoder, reject them.
      for (const kind of ['oversized', 'undecodable', 'version', 'unknownType', 'badField', 'nonFinite', 'decoded']) {
        assert.ok((outcomes[kind] ?? 0) > 0, `no '${kind}' outcome in ${JSON.stringify(outcomes)}`);
      }
    });
  });
});
