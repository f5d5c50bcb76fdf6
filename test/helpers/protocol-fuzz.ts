/**
 * The protocol fuzz run, as a process of its own: `protocol.test.ts` starts it with a small
 * heap (--max-old-space-size), so a message that decodes to more than its bytes promise
 * kills it, and the test sees that. Every message type of both directions, valid and
 * mutated, through both real decoders; seeded. Prints one JSON line: outcomes by kind, and
 * the process's peak RSS.
 */
import { Rng } from '../../core/rng';
import { batchExpectation, decodeLearnerMessage, decodeWorkerMessage, encode, MessageRejected, type BatchExpectation, type WorkerMessage } from '../../src/transport/protocol';
import { everyLearnerMessage, everyWorkerMessage, makeSetup, v } from './protocol-fixtures';

const MAX_BYTES = 16 * 1024 * 1024;
const expect: BatchExpectation = { ...batchExpectation(makeSetup().policies, MAX_BYTES), maxNumEnvs: 8, maxLength: 64 };
const SPLICE = '\u0000splice\u0000';

/** Encodes what a faulty or hostile peer might send: any object at all. */
function encodeAny(value: unknown): Buffer {
  return encode(value as WorkerMessage);
}

/** A random value built from what messages hold, field names included, so some of it gets past the envelope. */
function randomValue(rng: Rng, depth: number): unknown {
  const names = ['v', 'type', 'workerId', 'batch', 'obs', 'params', 'default', 'weights', 'scalars', 'shape', 'data', 'name', 'seq', 'policyId', 'columns', 'state', 'nextMasks', 'sampling', 'setup', 'policies', '__proto__', 'constructor'];
  switch (rng.int(depth > 2 ? 7 : 11)) {
    case 0: return [1, 0, -1, 2 ** 40, -0.5, 1e308, 2 ** 31][rng.int(7)];
    case 1: return [NaN, Infinity, null, undefined, true][rng.int(5)];
    case 2: return ['batch', 'hello', 'weights', 'welcome', 'heartbeat', '', 'x'.repeat(rng.int(20_000))][rng.int(7)];
    case 3: return Float32Array.from({ length: rng.int(40) }, () => (rng.random() < 0.1 ? NaN : rng.normal()));
    case 4: return [new Int32Array(rng.int(10)), new Uint8Array(rng.int(10)).fill(rng.int(3)), Buffer.alloc(rng.int(10)), new Float64Array(3), BigInt(rng.int(100)), new Date(0), new Set([1]), /x/][rng.int(8)];
    case 5: return v;
    case 6: return SPLICE;
    case 7:
    case 8: return Array.from({ length: rng.int(5) }, () => randomValue(rng, depth + 1));
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

/** Somewhere in a valid message: replaces or deletes one field, or writes an odd number into one typed-array element. */
function mutateField(rng: Rng, msg: Record<string, unknown>): void {
  let o = msg;
  for (;;) {
    const keys = Object.keys(o);
    if (keys.length === 0) return;
    const k = keys[rng.int(keys.length)];
    const child = o[k];
    if (ArrayBuffer.isView(child) && (child as Float32Array).length > 0 && rng.random() < 0.6) {
      const a = child as Float32Array;
      return void (a[rng.int(a.length)] = [NaN, Infinity, -Infinity, 2, -1, 1e9][rng.int(6)]);
    }
    if (child && typeof child === 'object' && !ArrayBuffer.isView(child) && rng.random() < 0.85) o = child as Record<string, unknown>; // deep enough to reach a weight's data (params.<id>.weights[i].data)
    else if (rng.random() < 0.2) return void delete o[k];
    else return void (o[k] = randomValue(rng, 1));
  }
}

/**
 * MessagePack that promises more than its bytes hold, or builds what the protocol never
 * writes: a huge array or map header over bytes of empty maps, deep nesting, msgpackr's
 * record, set, error, regexp, bundle and date extensions, a typed array of a class not carried.
 */
function hostileChunk(rng: Rng): Buffer {
  const fill = (header: number[], n: number, byte: number) => Buffer.concat([Buffer.from(header), Buffer.alloc(n, byte)]);
  const u32 = (x: number) => [(x >>> 24) & 255, (x >>> 16) & 255, (x >>> 8) & 255, x & 255];
  switch (rng.int(9)) {
    case 0: { // the one that killed the learner: an array of empty maps, all the bytes it claims present
      const n = rng.int(MAX_BYTES - 1024);
      return fill([0xdd, ...u32(n)], n, 0x80);
    }
    case 1: return fill([0xdd, ...u32(0xffffffff)], rng.int(1000), 0x80); // a count the bytes cannot hold
    case 2: { // a map of empty maps under empty keys
      const n = rng.int(MAX_BYTES / 4);
      return Buffer.concat([Buffer.from([0xdf, ...u32(n)]), Buffer.alloc(n * 2, Buffer.from([0xa0, 0x80]))]); // "": {}, "": {}, ...
    }
    case 3: return fill([], 1 + rng.int(100_000), 0x91); // nested one-element arrays
    case 4: return Buffer.from([0xd4, 0x72, 0x40]); // a record definition
    case 5: return Buffer.from([[0xd4, 0x73, 0x00], [0xd4, 0x65, 0x00], [0xd4, 0x78, 0x00], [0xd6, 0x62, 0, 0, 0, 9], [0xd6, 0xff, 0, 0, 0, 1], [0xd4, 0x00, 0x00]][rng.int(6)]);
    case 6: return Buffer.from([0xc7, 9, 0x74, 8, 0, 0, 0, 0, 0, 0, 0, 0]); // a Float64Array
    case 7: return Buffer.from([0xc7, 4, 0x74, 7, 0, 0, 0]); // a Float32Array of 3 bytes
    default: return fill([0xdc, 0xff, 0xff], 0xffff, 0xc0); // 65535 nils
  }
}

/** `buf` with the encoded SPLICE string (wherever randomValue put it, or a random field) replaced by `chunk`. */
function splice(buf: Buffer, chunk: Buffer): Buffer {
  const marker = Buffer.concat([Buffer.from([0xa0 + SPLICE.length]), Buffer.from(SPLICE)]);
  const at = buf.indexOf(marker);
  return at < 0 ? buf : Buffer.concat([buf.subarray(0, at), chunk, buf.subarray(at + marker.length)]);
}

function run(cases: number, seed: number): void {
  const rng = new Rng(seed);
  const valid = [...everyWorkerMessage(), ...everyLearnerMessage()].map((m) => encode(m));
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < cases; i++) {
    const base = valid[i % valid.length];
    let buf: Buffer;
    switch (rng.int(7)) {
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
      case 4: {
        // a valid message with one field replaced by hostile MessagePack
        const msg = [...everyWorkerMessage(), ...everyLearnerMessage()][i % valid.length] as unknown as Record<string, unknown>;
        const keys = Object.keys(msg).filter((k) => k !== 'type');
        if (keys.length > 0) msg[keys[rng.int(keys.length)]] = SPLICE;
        buf = splice(encodeAny(msg), hostileChunk(rng));
        break;
      }
      default: {
        let msg: unknown;
        try {
          msg = decodeWorkerMessage(base, expect);
        } catch {
          msg = decodeLearnerMessage(base, MAX_BYTES);
        }
        mutateField(rng, msg as Record<string, unknown>);
        buf = splice(encodeAny(msg), hostileChunk(rng));
      }
    }
    for (const decode of [() => decodeWorkerMessage(buf, expect), () => decodeLearnerMessage(buf, MAX_BYTES)]) {
      try {
        decode();
        outcomes.decoded = (outcomes.decoded ?? 0) + 1;
      } catch (e) {
        if (!(e instanceof MessageRejected)) throw new Error(`case ${i}: ${e instanceof Error ? e.stack : String(e)}`);
        outcomes[e.kind] = (outcomes[e.kind] ?? 0) + 1;
      }
    }
  }
  console.log(JSON.stringify({ outcomes, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) }));
}

run(Number(process.argv[2] ?? 2000), Number(process.argv[3] ?? 2024));
