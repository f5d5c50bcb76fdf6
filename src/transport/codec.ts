import { Packr } from 'msgpackr';
import { scanMessage, ShapeError, type DecodeLimits } from './msgpack-bounds';
import { describeValue } from '../../core/describe';
import { ProtocolError } from '../../core/errors';
import { MAX_ENV_CODE_BYTES } from './limits';
import { PROTOCOL_VERSION, type LearnerMessage, type WorkerMessage } from './messages';

/** The codec: msgpackr as the protocol writes it, the envelope every message is read through, and the limits per message type. */

export type Obj = Record<string, unknown>;

/**
 * What each message may decode to, checked on the bytes before msgpackr builds anything
 * (see msgpack-bounds.ts). Depth counts containers below the top-level map; entries, those
 * of every map and array. The large messages carry their bulk as typed arrays, one entry
 * each; what is left to bound is their structure. A welcome's entries allow a Box space of
 * 2^19 elements (its `low` and `high` are arrays) and an envConfig of a few thousand values.
 */
type MessageLimits = Record<WorkerMessage['type'] | LearnerMessage['type'], DecodeLimits>;
const limitTables = new Map<number, MessageLimits>();

/** The table of `limitsFor`, built once per message-size limit (a run has one or two). */
function limitsOf(maxBytes: number): MessageLimits {
  let table = limitTables.get(maxBytes);
  if (!table) limitTables.set(maxBytes, (table = limitsFor(maxBytes)));
  return table;
}

function limitsFor(maxBytes: number): MessageLimits {
  const small = (entries: number, decodedBytes = 16 * 1024): DecodeLimits => ({ maxDepth: 1, maxEntries: entries, maxDecodedBytes: decodedBytes });
  const bulk = 2 * maxBytes + (1 << 20);
  return {
    hello: small(16),
    batch: { maxDepth: 3, maxEntries: 512, maxDecodedBytes: bulk },
    // Per-slot batches (a few dozen entries each) and small game results.
    games: { maxDepth: 4, maxEntries: 1 << 21, maxDecodedBytes: bulk },
    heartbeat: small(32),
    envError: small(16, 64 * 1024),
    weightsRequest: small(8),
    codeRequest: small(8),
    refused: small(8, 64 * 1024),
    bye: small(8),
    welcome: { maxDepth: 12, maxEntries: (1 << 20) + 100_000, maxDecodedBytes: 64 * (1 << 20) },
    sample: small(8),
    weights: { maxDepth: 6, maxEntries: 100_000, maxDecodedBytes: bulk },
    unknownWorker: small(8),
    code: small(8, MAX_ENV_CODE_BYTES + 1024),
  };
}

export const WORKER_TYPES = ['hello', 'batch', 'games', 'heartbeat', 'envError', 'weightsRequest', 'codeRequest', 'refused', 'bye'] as const;
export const LEARNER_TYPES = ['welcome', 'sample', 'weights', 'code', 'heartbeat', 'unknownWorker'] as const;
export type RejectKind = 'oversized' | 'undecodable' | 'version' | 'unknownType' | 'badField' | 'nonFinite';

/** A received message that fails its checks: the caller drops it, counts it by `kind` and logs the message. */
export class MessageRejected extends ProtocolError {
  constructor(
    readonly kind: RejectKind,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `moreTypes` writes typed arrays as msgpackr's typed-array extension, so a Float32Array comes
 * back a Float32Array (a plain pack turns it into a Buffer). `useRecords: false` writes plain
 * MessagePack maps, each message self-describing, with no record structures to share.
 * `structuredClone: false` refuses the reference extension on receipt, so no input can build
 * a cyclic object.
 */
const packr = new Packr({ moreTypes: true, useRecords: false, structuredClone: false });

/** The message as it goes on the wire, with the protocol version added first. */
export function encode(msg: WorkerMessage | LearnerMessage): Buffer {
  return packr.pack({ v: PROTOCOL_VERSION, ...msg });
}

// ---- The envelope ----

/**
 * Size, then what the bytes would decode to (bounded by the limits of the message type they
 * name, or by the largest of this direction's if they name none of its types), then
 * MessagePack, then a plain object, then the protocol version.
 */
export function header(buf: Buffer, maxBytes: number, types: readonly string[]): { msg: Obj; type: unknown } {
  if (buf.length > maxBytes) reject('oversized', `message is ${buf.length} bytes, more than the limit of ${maxBytes}`);
  const limits = limitsOf(maxBytes) as Record<string, DecodeLimits>;
  const widest: DecodeLimits = {
    maxDepth: Math.max(...types.map((t) => limits[t].maxDepth)),
    maxEntries: Math.max(...types.map((t) => limits[t].maxEntries)),
    maxDecodedBytes: Math.max(...types.map((t) => limits[t].maxDecodedBytes)),
  };
  let shape;
  try {
    shape = scanMessage(buf, widest);
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    if (e.kind === 'oversized') reject('oversized', `message would decode to too much: ${e.message}`);
    reject('undecodable', `message is not MessagePack the protocol writes: ${e.message}`);
  }
  const own = shape.type !== undefined && types.includes(shape.type) ? limits[shape.type] : undefined;
  if (own) {
    const over =
      shape.depth > own.maxDepth ? `nesting ${shape.depth} deep, more than ${own.maxDepth}`
      : shape.entries > own.maxEntries ? `${shape.entries} entries in maps and arrays, more than ${own.maxEntries}`
      : shape.decodedBytes > own.maxDecodedBytes ? `about ${shape.decodedBytes} bytes decoded, more than ${own.maxDecodedBytes}`
      : undefined;
    if (over) reject('oversized', `'${shape.type}' message would decode to ${over}`);
  }
  let value: unknown;
  try {
    value = packr.unpack(buf);
  } catch (e) {
    reject('undecodable', `message is not valid MessagePack: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isPlainObject(value)) reject('undecodable', `message is ${describeValue(value)}, not an object`);
  if (value.v !== PROTOCOL_VERSION) reject('version', `message has protocol version ${describeValue(value.v)}, expected ${PROTOCOL_VERSION}`);
  delete value.v; // the decoded message is as it was given to encode()
  return { msg: value, type: value.type };
}

/** Runs a message's field checks and prefixes what they reject with the message type. */
export function withType<T>(type: unknown, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof MessageRejected && e.kind !== 'unknownType') throw new MessageRejected(e.kind, `'${type}' message: ${e.message}`);
    throw e;
  }
}

export function reject(kind: RejectKind, message: string): never {
  throw new MessageRejected(kind, message);
}

export function isPlainObject(v: unknown): v is Obj {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
