import { Packr } from 'msgpackr';
import type { ModelConfig, NamedTensor, PolicySpec, TrajectoryBatch, Weights } from '../../core/algorithm';
import { ProtocolError } from '../../core/errors';

/**
 * The messages between the learner and its rollout workers, their encoding, and the checks
 * every message passes on receipt. Stateless: replayed or stale batches are the caller's to
 * spot (by `seq` and `policyVersion`).
 */

export const PROTOCOL_VERSION = 1;
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** The most envs one worker may step: a hello's numEnvs and a batch's are held to it alike. */
export const MAX_NUM_ENVS = 4096;

/** Everything a worker needs to start sampling, sent by the learner on connect. */
export interface WorkerSetup {
  spec: PolicySpec;
  envId: string;
  envConfig: Record<string, unknown>;
  numEnvs: number;
  rolloutLength: number;
  seed: number;
  heartbeatSeconds: number;
  /** The worker's slot of `numSlots`: what its policy may differ by (DQN's Ape-X exploration rate follows it). */
  slot: number;
  numSlots: number;
  pubEndpoint: string;
  /** The learner's working directory: a worker finds a module env at the same path relative to its own. */
  learnerDir: string;
}

/** Worker -> learner (DEALER -> ROUTER). `hello` asks for a workerId; `slot` asks for a given one back. */
export type WorkerMessage =
  | { v: number; type: 'hello'; host: string; pid: number; numEnvs: number | null; slot: number | null }
  | { v: number; type: 'batch'; workerId: number; batch: TrajectoryBatch }
  | { v: number; type: 'heartbeat'; workerId: number; policyVersion: number }
  | { v: number; type: 'envError'; workerId: number; envId: string; step: number; message: string }
  | { v: number; type: 'weightsRequest'; workerId: number }
  | { v: number; type: 'bye'; workerId: number };

/** Learner -> worker (ROUTER -> DEALER, and `weights` also on PUB). */
export type LearnerMessage =
  | { v: number; type: 'welcome'; workerId: number; setup: WorkerSetup; weights: Weights; policyVersion: number }
  | { v: number; type: 'sample'; policyVersion: number }
  | { v: number; type: 'weights'; policyVersion: number; weights: Weights }
  | { v: number; type: 'heartbeat' }
  | { v: number; type: 'unknownWorker' };

/** What the learner's run expects of a batch: sizes from the env spaces and the algorithm, bounds from the config. */
export interface BatchExpectation {
  obsSize: number;
  actionSize: number;
  /** The per-step columns the algorithm records (e.g. `logp`, `value`), exactly. */
  extras: string[];
  maxNumEnvs: number;
  /** For a Discrete action space, its size: actions must be integers in [0, actionCount). */
  actionCount?: number;
  maxLength: number;
  maxBytes: number;
}

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

export function encode(msg: WorkerMessage | LearnerMessage): Buffer {
  return packr.pack(msg);
}

export function decodeWorkerMessage(buf: Buffer, expect: BatchExpectation): WorkerMessage {
  const { msg, type } = header(buf, expect.maxBytes);
  return withType(type, () => {
    switch (type) {
      case 'hello':
        keys(msg, ['host', 'pid', 'numEnvs', 'slot']);
        str(msg, 'host', '', 255);
        int(msg, 'pid', '');
        nullable(msg, 'numEnvs', () => int(msg, 'numEnvs', '', 1, MAX_NUM_ENVS));
        nullable(msg, 'slot', () => int(msg, 'slot', ''));
        break;
      case 'batch': {
        keys(msg, ['workerId', 'batch']);
        const workerId = int(msg, 'workerId', '');
        checkBatch(obj(msg, 'batch', ''), 'batch', expect, workerId);
        break;
      }
      case 'heartbeat':
        keys(msg, ['workerId', 'policyVersion']);
        int(msg, 'workerId', '');
        int(msg, 'policyVersion', '');
        break;
      case 'envError':
        keys(msg, ['workerId', 'envId', 'step', 'message']);
        int(msg, 'workerId', '');
        str(msg, 'envId', '');
        int(msg, 'step', '');
        str(msg, 'message', '', 10_000);
        break;
      case 'weightsRequest':
      case 'bye':
        keys(msg, ['workerId']);
        int(msg, 'workerId', '');
        break;
      default:
        reject('unknownType', `message type ${show(type)} is not one of hello, batch, heartbeat, envError, weightsRequest, bye`);
    }
    return msg as unknown as WorkerMessage;
  });
}

export function decodeLearnerMessage(buf: Buffer, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): LearnerMessage {
  const { msg, type } = header(buf, maxBytes);
  return withType(type, () => {
    switch (type) {
      case 'welcome':
        keys(msg, ['workerId', 'setup', 'weights', 'policyVersion']);
        int(msg, 'workerId', '');
        checkSetup(obj(msg, 'setup', ''), 'setup');
        checkWeights(msg, 'weights', '');
        int(msg, 'policyVersion', '');
        break;
      case 'sample':
        keys(msg, ['policyVersion']);
        int(msg, 'policyVersion', '');
        break;
      case 'weights':
        keys(msg, ['policyVersion', 'weights']);
        int(msg, 'policyVersion', '');
        checkWeights(msg, 'weights', '');
        break;
      case 'heartbeat':
      case 'unknownWorker':
        keys(msg, []);
        break;
      default:
        reject('unknownType', `message type ${show(type)} is not one of welcome, sample, weights, heartbeat, unknownWorker`);
    }
    return msg as unknown as LearnerMessage;
  });
}

// ---- The envelope ----

type Obj = Record<string, unknown>;

/** Size, then MessagePack, then a plain object, then the protocol version. */
function header(buf: Buffer, maxBytes: number): { msg: Obj; type: unknown } {
  if (buf.length > maxBytes) reject('oversized', `message is ${buf.length} bytes, more than the limit of ${maxBytes}`);
  let value: unknown;
  try {
    value = packr.unpack(buf);
  } catch (e) {
    reject('undecodable', `message is not valid MessagePack: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isPlainObject(value)) reject('undecodable', `message is ${show(value)}, not an object`);
  if (value.v !== PROTOCOL_VERSION) reject('version', `message has protocol version ${show(value.v)}, expected ${PROTOCOL_VERSION}`);
  return { msg: value, type: value.type };
}

/** Runs a message's field checks and prefixes what they reject with the message type. */
function withType<T>(type: unknown, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof MessageRejected && e.kind !== 'unknownType') throw new MessageRejected(e.kind, `'${type}' message: ${e.message}`);
    throw e;
  }
}

// ---- Batches, setup, weights ----

/** Every field of T, checked by the compiler: a field added to T and not here fails the build. */
function fieldsOf<T>(fields: Record<keyof T, true>): string[] {
  return Object.keys(fields);
}

const BATCH_FIELDS = fieldsOf<TrajectoryBatch>({
  workerId: true, seq: true, policyVersion: true, numEnvs: true, length: true, obs: true, actions: true,
  rewards: true, terminated: true, truncated: true, extras: true, nextObs: true, finalObs: true, episodes: true,
});
const SETUP_FIELDS = fieldsOf<WorkerSetup>({
  spec: true, envId: true, envConfig: true, numEnvs: true, rolloutLength: true, seed: true, heartbeatSeconds: true, slot: true, numSlots: true, pubEndpoint: true, learnerDir: true,
});
const SPEC_FIELDS = fieldsOf<PolicySpec>({ algorithm: true, observationSpace: true, actionSpace: true, model: true, config: true, extras: true });
const MODEL_FIELDS = fieldsOf<ModelConfig>({ hiddenSizes: true, activation: true, sharedLayers: true, conv: true });
const CONV_FIELDS = ['filters', 'kernel', 'stride', 'padding'];
const TENSOR_FIELDS = fieldsOf<NamedTensor>({ name: true, shape: true, data: true });

function checkBatch(b: Obj, path: string, expect: BatchExpectation, workerId: number): void {
  keys(b, BATCH_FIELDS, path);
  const id = int(b, 'workerId', path);
  if (id !== workerId) reject('badField', `${path}.workerId (${id}) must equal the message's workerId (${workerId})`);
  int(b, 'seq', path);
  int(b, 'policyVersion', path);
  const n = int(b, 'numEnvs', path, 1, expect.maxNumEnvs);
  const T = int(b, 'length', path, 1, expect.maxLength);
  const rows = n * T;
  f32(b, 'obs', path, [n, T, expect.obsSize]);
  const actions = f32(b, 'actions', path, [n, T, expect.actionSize]);
  if (expect.actionCount !== undefined) {
    const bad = actions.findIndex((a) => !Number.isInteger(a) || a < 0 || a >= expect.actionCount!);
    if (bad >= 0) reject('badField', `${path}.actions[${bad}] is ${actions[bad]}, not an action of Discrete(${expect.actionCount})`);
  }
  f32(b, 'rewards', path, [n, T]);
  flags(b, 'terminated', path, [n, T]);
  flags(b, 'truncated', path, [n, T]);

  const extras = obj(b, 'extras', path);
  const got = Object.keys(extras).sort();
  const want = [...expect.extras].sort();
  if (got.join('\0') !== want.join('\0')) reject('badField', `${path}.extras has [${got.join(', ')}], expected [${want.join(', ')}]`);
  for (const k of want) f32(extras, k, `${path}.extras`, [n, T]);

  f32(b, 'nextObs', path, [n, expect.obsSize]);

  const final = obj(b, 'finalObs', path);
  keys(final, ['index', 'obs'], `${path}.finalObs`);
  const index = typed(final, 'index', `${path}.finalObs`, Int32Array);
  for (let i = 0; i < index.length; i++) {
    const at = `${path}.finalObs.index[${i}]`;
    if (index[i] < 0 || index[i] >= rows) reject('badField', `${at} is ${index[i]}, must be in [0, ${rows})`);
    if (i > 0 && index[i] <= index[i - 1]) reject('badField', `${at} (${index[i]}) must be greater than the one before (${index[i - 1]})`);
  }
  f32(final, 'obs', `${path}.finalObs`, [index.length, expect.obsSize]);

  const episodes = obj(b, 'episodes', path);
  keys(episodes, ['returns', 'lengths'], `${path}.episodes`);
  const lengths = typed(episodes, 'lengths', `${path}.episodes`, Int32Array);
  for (let i = 0; i < lengths.length; i++) {
    if (lengths[i] < 1) reject('badField', `${path}.episodes.lengths[${i}] is ${lengths[i]}, must be positive`);
  }
  f32(episodes, 'returns', `${path}.episodes`, [lengths.length]);
}

function checkSetup(s: Obj, path: string): void {
  keys(s, SETUP_FIELDS, path);
  const spec = obj(s, 'spec', path);
  const at = `${path}.spec`;
  keys(spec, SPEC_FIELDS, at);
  str(spec, 'algorithm', at);
  checkSpace(obj(spec, 'observationSpace', at), `${at}.observationSpace`);
  checkSpace(obj(spec, 'actionSpace', at), `${at}.actionSpace`);
  checkModel(obj(spec, 'model', at), `${at}.model`);
  field(spec, 'config', at);
  const extras = field(spec, 'extras', at);
  if (!Array.isArray(extras) || !extras.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 100) || new Set(extras).size !== extras.length) {
    reject('badField', `${at}.extras must be an array of distinct non-empty names, got ${show(extras)}`);
  }
  str(s, 'envId', path);
  obj(s, 'envConfig', path);
  int(s, 'numEnvs', path, 1);
  int(s, 'rolloutLength', path, 1);
  int(s, 'seed', path);
  const hb = field(s, 'heartbeatSeconds', path);
  if (typeof hb !== 'number' || !(hb > 0) || !Number.isFinite(hb)) reject('badField', `${path}.heartbeatSeconds must be a positive number, got ${show(hb)}`);
  const numSlots = int(s, 'numSlots', path, 1);
  int(s, 'slot', path, 0, numSlots - 1);
  str(s, 'pubEndpoint', path);
  str(s, 'learnerDir', path);
}

function checkSpace(space: Obj, path: string): void {
  if (space.type === 'Discrete') {
    keys(space, ['type', 'n'], path);
    int(space, 'n', path, 1);
  } else if (space.type === 'Box') {
    keys(space, ['type', 'shape', 'low', 'high'], path);
    const size = shape(space, 'shape', path).reduce((a, d) => a * d, 1);
    for (const k of ['low', 'high']) {
      const bound = field(space, k, path);
      if (!Array.isArray(bound) || bound.length !== size) reject('badField', `${path}.${k} must be an array of ${size} numbers, got ${show(bound)}`);
      const i = bound.findIndex((x) => typeof x !== 'number' || Number.isNaN(x));
      if (i >= 0) reject('badField', `${path}.${k}[${i}] must be a number (infinite is allowed), got ${show(bound[i])}`);
    }
  } else {
    reject('badField', `${path}.type must be 'Discrete' or 'Box', got ${show(space.type)}`);
  }
}

function checkModel(m: Obj, path: string): void {
  keys(m, MODEL_FIELDS, path);
  const sizes = field(m, 'hiddenSizes', path);
  if (!Array.isArray(sizes) || !sizes.every((x) => Number.isSafeInteger(x) && x > 0)) reject('badField', `${path}.hiddenSizes must be an array of positive integers, got ${show(sizes)}`);
  const act = field(m, 'activation', path);
  if (act !== 'tanh' && act !== 'relu') reject('badField', `${path}.activation must be 'tanh' or 'relu', got ${show(act)}`);
  if (typeof field(m, 'sharedLayers', path) !== 'boolean') reject('badField', `${path}.sharedLayers must be a boolean, got ${show(m.sharedLayers)}`);
  if (m.conv === undefined) return;
  if (!Array.isArray(m.conv)) reject('badField', `${path}.conv must be an array, got ${show(m.conv)}`);
  m.conv.forEach((layer: unknown, i: number) => {
    const at = `${path}.conv[${i}]`;
    if (!isPlainObject(layer)) reject('badField', `${at} must be an object, got ${show(layer)}`);
    keys(layer, CONV_FIELDS, at);
    for (const k of ['filters', 'kernel', 'stride']) {
      if (!(Number.isSafeInteger(layer[k]) && (layer[k] as number) > 0)) reject('badField', `${at}.${k} must be a positive integer, got ${show(layer[k])}`);
    }
    if (layer.padding !== 'valid' && layer.padding !== 'same') reject('badField', `${at}.padding must be 'valid' or 'same', got ${show(layer.padding)}`);
  });
}

/** An array of `{ name, shape, data }` with unique names and `data.length` = product(shape). */
function checkWeights(o: Obj, key: string, path: string): void {
  const at = join(path, key);
  const list = field(o, key, path);
  if (!Array.isArray(list)) reject('badField', `${at} must be an array, got ${show(list)}`);
  const seen = new Map<string, number>();
  list.forEach((w, i) => {
    const wat = `${at}[${i}]`;
    if (!isPlainObject(w)) reject('badField', `${wat} must be an object, got ${show(w)}`);
    keys(w, TENSOR_FIELDS, wat);
    const name = str(w, 'name', wat);
    if (seen.has(name)) reject('badField', `${wat}.name ${show(name)} repeats ${at}[${seen.get(name)}].name`);
    seen.set(name, i);
    f32(w, 'data', wat, shape(w, 'shape', wat));
  });
}

// ---- Field helpers: each names the field it rejects ----

function reject(kind: RejectKind, message: string): never {
  throw new MessageRejected(kind, message);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function field(o: Obj, key: string, path: string): unknown {
  if (!Object.hasOwn(o, key)) reject('badField', `${join(path, key)} is missing`);
  return o[key];
}

/** `o` has no fields beyond `allowed` (and `v`, `type` at the top level). */
function keys(o: Obj, allowed: string[], path = ''): void {
  const extra = Object.keys(o).find((k) => !allowed.includes(k) && (path !== '' || (k !== 'v' && k !== 'type')));
  if (extra !== undefined) reject('badField', `${path || 'message'} has an unknown field ${show(extra)}`);
}

function obj(o: Obj, key: string, path: string): Obj {
  const v = field(o, key, path);
  if (!isPlainObject(v)) reject('badField', `${join(path, key)} must be an object, got ${show(v)}`);
  return v;
}

function nullable(o: Obj, key: string, check: () => unknown): void {
  if (field(o, key, '') !== null) check();
}

/** An integer in [min, max]: by default a non-negative one. */
function int(o: Obj, key: string, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = field(o, key, path);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    const rule = max < Number.MAX_SAFE_INTEGER ? `an integer in [${min}, ${max}]` : min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer >= ${min}`;
    reject('badField', `${join(path, key)} must be ${rule}, got ${show(v)}`);
  }
  return v;
}

function str(o: Obj, key: string, path: string, maxLength = 1000): string {
  const v = field(o, key, path);
  if (typeof v !== 'string' || v.length === 0) reject('badField', `${join(path, key)} must be a non-empty string, got ${show(v)}`);
  if (v.length > maxLength) reject('badField', `${join(path, key)} has ${v.length} characters, more than ${maxLength}`);
  return v;
}

/** An array of at most 8 non-negative integers. */
function shape(o: Obj, key: string, path: string): number[] {
  const v = field(o, key, path);
  if (!Array.isArray(v) || v.length > 8 || !v.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    reject('badField', `${join(path, key)} must be an array of at most 8 non-negative integers, got ${show(v)}`);
  }
  return v;
}

type TypedArrayClass<A> = { new (n: number): A; readonly prototype: A; readonly name: string };

/** Exactly this typed-array class: a Buffer is not a Uint8Array here. */
function typed<A extends Float32Array | Int32Array | Uint8Array>(o: Obj, key: string, path: string, cls: TypedArrayClass<A>): A {
  const v = field(o, key, path);
  if (v === null || typeof v !== 'object' || Object.getPrototypeOf(v) !== cls.prototype) {
    reject('badField', `${join(path, key)} must be a ${cls.name}, got ${show(v)}`);
  }
  return v as A;
}

/** A typed array whose length is the product of `dims`. */
function sized<A extends Float32Array | Uint8Array>(o: Obj, key: string, path: string, cls: TypedArrayClass<A>, dims: number[]): A {
  const a = typed(o, key, path, cls);
  const n = dims.reduce((x, d) => x * d, 1);
  if (a.length !== n) {
    const expected = dims.length > 1 ? `${dims.join('*')} = ${n}` : `${n}`;
    reject('badField', `${join(path, key)} has ${a.length} values, expected ${expected}`);
  }
  return a;
}

/** A Float32Array of product(dims) finite values. */
function f32(o: Obj, key: string, path: string, dims: number[]): Float32Array {
  const a = sized(o, key, path, Float32Array, dims);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) reject('nonFinite', `${join(path, key)}[${i}] is ${a[i]}`);
  }
  return a;
}

/** A Uint8Array of product(dims) values, each 0 or 1. */
function flags(o: Obj, key: string, path: string, dims: number[]): Uint8Array {
  const a = sized(o, key, path, Uint8Array, dims);
  for (let i = 0; i < a.length; i++) {
    if (a[i] > 1) reject('badField', `${join(path, key)}[${i}] is ${a[i]}, must be 0 or 1`);
  }
  return a;
}

function isPlainObject(v: unknown): v is Obj {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A received value, short, for an error message. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v === null || v === undefined) return String(v);
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength} bytes)`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (isPlainObject(v)) return 'an object';
  return typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'object'}` : typeof v;
}
