import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32c } from '@node-rs/crc32';

/**
 * TensorBoard's event files, written by hand: there is no npm package for them. An events file is
 * a sequence of TFRecord frames, each holding one `tensorflow.Event` protobuf message. The tags
 * (`train/policyLoss`, ...) come from the metrics' own specs (src/runtime/iteration-record.ts).
 */

/**
 * Writes scalars to `<dir>/events.out.tfevents.<unix seconds>.<hostname>`, one Event per call.
 * Each record goes to the OS in one synchronous write with no buffer in between, so a running
 * `tensorboard --logdir` sees it at once. The writer never throws into training: on the first fs
 * error it logs one warning and ignores every later call.
 */
export class TensorBoardWriter {
  readonly file: string;
  private fd: number | undefined;
  private readonly log: (msg: string) => void;

  constructor(dir: string, opts: { log?: (msg: string) => void } = {}) {
    this.log = opts.log ?? console.warn;
    this.file = path.join(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${os.hostname()}`);
    try {
      fs.mkdirSync(dir, { recursive: true });
      this.fd = fs.openSync(this.file, 'a');
    } catch (err) {
      this.log(`warning: TensorBoard events file ${this.file} could not be created (${describe(err)}); training goes on without it`);
      return;
    }
    this.append(Buffer.concat([double(1, Date.now() / 1000), bytes(3, Buffer.from('brain.Event:2'))]));
  }

  /** One Event at `step` (the env step count) with a value per finite scalar, by tag; NaN, Infinity and non-numbers are left out. */
  writeScalars(step: number, scalars: Record<string, number>, wallTime = Date.now() / 1000): void {
    if (!Number.isSafeInteger(step) || step < 0) {
      throw new RangeError(`TensorBoardWriter.writeScalars: step (${step}) must be a non-negative integer`);
    }
    const values = Object.entries(scalars)
      .filter(([, v]) => typeof v === 'number' && Number.isFinite(v))
      .map(([tag, v]) => bytes(1, Buffer.concat([bytes(1, Buffer.from(tag)), float(2, v)])));
    if (values.length === 0) return;
    this.append(Buffer.concat([double(1, wallTime), int64(2, step), bytes(5, Buffer.concat(values))]));
  }

  /** One Event at `step` holding `summary`, an encoded `tensorflow.Summary` message (a plugin's summary: the HParams ones of `rl tune`). */
  writeSummary(step: number, summary: Uint8Array, wallTime = Date.now() / 1000): void {
    if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`TensorBoardWriter.writeSummary: step (${step}) must be a non-negative integer`);
    this.append(Buffer.concat([double(1, wallTime), int64(2, step), bytes(5, Buffer.from(summary))]));
  }

  /**
   * Marks a restart at `step` (a resumed run's first step to come): a SessionLog START event, on
   * which TensorBoard drops the events of earlier files at `step` and past it, which an attempt
   * that died after its last checkpoint wrote; otherwise those steps would be charted twice.
   */
  restartAt(step: number, wallTime = Date.now() / 1000): void {
    if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`TensorBoardWriter.restartAt: step (${step}) must be a non-negative integer`);
    this.append(Buffer.concat([double(1, wallTime), int64(2, step), bytes(7, Buffer.concat([key(1, 0), varint(1n)]))])); // session_log { status: START }
  }

  /** Forces what was written onto the disk (it is already visible to readers). */
  flush(): void {
    this.guard(() => fs.fsyncSync(this.fd!));
  }

  /** Safe to call twice; later calls to the writer are ignored. */
  close(): void {
    this.guard(() => fs.closeSync(this.fd!));
    this.fd = undefined;
  }

  private append(data: Buffer): void {
    this.guard(() => {
      // On Linux an open file outlives its folder; writing on would lose every record unseen.
      if (fs.fstatSync(this.fd!).nlink === 0) throw new Error('ENOENT: the file was deleted');
      const record = frame(data);
      for (let done = 0; done < record.length; ) done += fs.writeSync(this.fd!, record, done);
    });
  }

  /** Runs `write` while the writer is alive; on an error, warns once and goes quiet. */
  private guard(write: () => void): void {
    if (this.fd === undefined) return;
    try {
      write();
    } catch (err) {
      this.log(`warning: TensorBoard events file ${this.file} can no longer be written (${describe(err)}); training goes on without it`);
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed, or the close itself failed: nothing more to do
      }
      this.fd = undefined;
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// TFRecord framing: uint64 LE length, masked CRC32C of it, the data, masked CRC32C of the data.
function frame(data: Buffer): Buffer {
  const out = Buffer.alloc(16 + data.length);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc(out.subarray(0, 8)), 8);
  data.copy(out, 12);
  out.writeUInt32LE(maskedCrc(data), 12 + data.length);
  return out;
}

function maskedCrc(buf: Uint8Array): number {
  const crc = crc32c(buf);
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

// Protobuf wire format: a key is (field << 3 | wire type); 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32.
function varint(v: bigint): Buffer {
  const out: number[] = [];
  do {
    out.push(Number(v & 0x7fn) | (v > 0x7fn ? 0x80 : 0));
    v >>= 7n;
  } while (v > 0n);
  return Buffer.from(out);
}

const key = (field: number, wire: number): Buffer => varint(BigInt((field << 3) | wire));
const int64 = (field: number, n: number): Buffer => Buffer.concat([key(field, 0), varint(BigInt(n))]);
const bytes = (field: number, b: Buffer): Buffer => Buffer.concat([key(field, 2), varint(BigInt(b.length)), b]);

function double(field: number, x: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return Buffer.concat([key(field, 1), b]);
}

function float(field: number, x: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x);
  return Buffer.concat([key(field, 5), b]);
}
