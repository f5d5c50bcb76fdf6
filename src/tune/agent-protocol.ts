import { Packr } from 'msgpackr';
import { MAX_ENV_CODE_BYTES } from '../transport/limits';

/*
 * What a tuner (`rl tune --bind`) and its trial agents (`rl tune-agent`) say to each other:
 * msgpack maps with a `type`, one per ZeroMQ frame, the agent's DEALER to the tuner's ROUTER.
 * The agent runs whole trials (`rl train` children) and mirrors what each writes (its
 * progress.jsonl and log, as byte ranges, and each new checkpoint, whole) back to the tuner,
 * which keeps them under SWEEP/trials/<id> as if the trial had run there.
 */

/** The protocol's version: an agent of another version is told so and ignored. */
export const TUNE_PROTOCOL_VERSION = 1;
/** The largest message either side sends or takes (a checkpoint travels whole in one): 64 MiB. */
export const MAX_TUNE_MESSAGE_BYTES = 64 * 1024 * 1024;
/** The largest file an agent mirrors (a trial's progress.jsonl or log): 1 GiB. */
export const MAX_FILE_BYTES = 1 << 30;
/** The most bytes of a file one `file` message carries (the rest follows in the next). */
export const MAX_FILE_CHUNK_BYTES = 1024 * 1024;

/** A checkpoint folder as it travels: its name (`iter_000012`) and its files' bytes. */
export interface CheckpointFiles {
  name: string;
  files: Record<string, Uint8Array>;
}

/** A module env's code as a tuner ships it: the bundle (env-code/bundle.ts), its sha256 and its entry file's name. */
export interface ShippedTrialCode {
  sha256: string;
  source: Uint8Array;
  /** The entry module's file name (`corridor.ts`), for messages and stack traces. */
  file: string;
}

/** Agent to tuner. */
export type AgentMessage =
  /** Every `pollMs`: who the agent is, how many trials it takes at once, and the attempts it runs. */
  | { type: 'heartbeat'; version: number; name: string; pid: number; slots: number; running: number[]; acceptsCode: boolean }
  /** Bytes of a trial's progress.jsonl or log from `offset` (what was there past it is gone). */
  | { type: 'file'; attempt: number; file: 'progress' | 'log'; offset: number; data: Uint8Array }
  | { type: 'checkpoint'; attempt: number; checkpoint: CheckpointFiles }
  | { type: 'ended'; attempt: number; code: number | null; signal: string | null };

/** Tuner to agent. */
export type TunerMessage =
  /** The answer to an agent's first heartbeat (and to each, while the versions differ). */
  | { type: 'welcome'; version: number }
  /** The answer to each heartbeat: the tuner is there. */
  | { type: 'heartbeat' }
  /**
   * Run a trial: its config (YAML), where it resumes from (its progress.jsonl and its newest
   * checkpoint) if it ran before, and for a module env its code (bundled, as a learner ships it).
   */
  | { type: 'run'; attempt: number; trial: string; config: string; progress: Uint8Array | null; checkpoint: CheckpointFiles | null; code: ShippedTrialCode | null }
  | { type: 'stop'; attempt: number };

const packr = new Packr({ useRecords: false, moreTypes: false });

/** One message as a frame. */
export function encodeTuneMessage(msg: AgentMessage | TunerMessage): Buffer {
  return packr.pack(msg);
}

/** Why a frame was not a message: `kind` names the rule broken (for the drop counts). */
export class TuneMessageRejected extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

type Obj = Record<string, unknown>;

function decode(frame: Buffer): Obj {
  if (frame.length > MAX_TUNE_MESSAGE_BYTES) throw new TuneMessageRejected('too large', `${frame.length} bytes > ${MAX_TUNE_MESSAGE_BYTES}`);
  let v: unknown;
  try {
    v = packr.unpack(frame);
  } catch (err) {
    throw new TuneMessageRejected('not msgpack', (err as Error).message.split('\n')[0]);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof (v as Obj).type !== 'string') throw new TuneMessageRejected('no type', 'not a map with a type');
  return v as Obj;
}

const isCount = (v: unknown, max = Number.MAX_SAFE_INTEGER) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;
const isText = (v: unknown, max = 256) => typeof v === 'string' && v.length <= max;
const isBytes = (v: unknown) => v instanceof Uint8Array;

function checkpointOk(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Obj;
  if (!isText(c.name) || !/^iter_\d+$/.test(c.name as string) || typeof c.files !== 'object' || c.files === null) return false;
  const entries = Object.entries(c.files as Obj);
  return entries.length <= 16 && entries.every(([name, data]) => /^[a-z][a-z0-9_.-]{0,63}$/i.test(name) && isBytes(data));
}

function codeOk(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Obj;
  return typeof c.sha256 === 'string' && /^[0-9a-f]{64}$/.test(c.sha256) && isBytes(c.source) && (c.source as Uint8Array).length <= MAX_ENV_CODE_BYTES && isText(c.file, 128) && /^[\w.-]+$/.test(c.file as string);
}

function reject(msg: Obj): never {
  throw new TuneMessageRejected(`bad ${String(msg.type).slice(0, 20)}`, `a ${String(msg.type).slice(0, 20)} message with fields of the wrong kind`);
}

/** An agent's frame as a message, checked field by field; else TuneMessageRejected. */
export function decodeAgentMessage(frame: Buffer): AgentMessage {
  const m = decode(frame);
  switch (m.type) {
    case 'heartbeat':
      if (!isCount(m.version) || !isText(m.name, 64) || !isCount(m.pid) || !isCount(m.slots, 1024) || (m.slots as number) < 1) return reject(m);
      if (typeof m.acceptsCode === 'boolean' && Array.isArray(m.running) && m.running.length <= 1024 && m.running.every((a) => isCount(a))) return m as AgentMessage;
      return reject(m);
    case 'file':
      if (isCount(m.attempt) && (m.file === 'progress' || m.file === 'log') && isCount(m.offset, MAX_FILE_BYTES) && isBytes(m.data) && (m.data as Uint8Array).length <= MAX_FILE_CHUNK_BYTES) return m as AgentMessage;
      return reject(m);
    case 'checkpoint':
      if (isCount(m.attempt) && checkpointOk(m.checkpoint)) return m as AgentMessage;
      return reject(m);
    case 'ended':
      if (isCount(m.attempt) && (m.code === null || Number.isInteger(m.code)) && (m.signal === null || isText(m.signal, 16))) return m as AgentMessage;
      return reject(m);
    default:
      throw new TuneMessageRejected('unknown type', `type ${JSON.stringify(String(m.type).slice(0, 20))}`);
  }
}

/** A tuner's frame as a message, checked field by field; else TuneMessageRejected. */
export function decodeTunerMessage(frame: Buffer): TunerMessage {
  const m = decode(frame);
  switch (m.type) {
    case 'welcome':
      if (isCount(m.version)) return m as TunerMessage;
      return reject(m);
    case 'heartbeat':
      return m as TunerMessage;
    case 'run':
      if (isCount(m.attempt) && isText(m.trial, 64) && /^[\w-][\w.-]*$/.test(m.trial as string) && isText(m.config, 1 << 20) && (m.progress === null || isBytes(m.progress)) && (m.checkpoint === null || checkpointOk(m.checkpoint)) && (m.code === null || codeOk(m.code))) return m as TunerMessage;
      return reject(m);
    case 'stop':
      if (isCount(m.attempt)) return m as TunerMessage;
      return reject(m);
    default:
      throw new TuneMessageRejected('unknown type', `type ${JSON.stringify(String(m.type).slice(0, 20))}`);
  }
}

/** Drops counted by kind, the first of each said once. */
export class DropCounter {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly who: string,
    private readonly log: (line: string) => void,
  ) {}

  /** The frame decoded, or undefined when it is malformed (dropped and counted). */
  decode<T>(decode: (frame: Buffer) => T, frame: Buffer): T | undefined {
    try {
      return decode(frame);
    } catch (err) {
      if (!(err instanceof TuneMessageRejected)) throw err;
      this.drop(err);
      return undefined;
    }
  }

  drop(err: TuneMessageRejected): void {
    const n = (this.counts.get(err.kind) ?? 0) + 1;
    this.counts.set(err.kind, n);
    if (n === 1) this.log(`${this.who}: dropped a malformed message (${err.kind}): ${err.message} (further ones of this kind are counted, not shown)`);
  }

  /** Drops so far, by kind. */
  get total(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
