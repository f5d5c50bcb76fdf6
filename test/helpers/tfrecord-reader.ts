import * as fs from 'node:fs';

/**
 * Reads a TensorBoard events file back, independently of `src/tensorboard.ts`: its own CRC32C, its
 * own protobuf parser driven by wire types, so that a bug in the writer cannot hide in shared code.
 */

export interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** SessionLog.status (1 START, 2 STOP, 3 CHECKPOINT), if the event is a session log. */
  sessionLogStatus?: number;
  values: { tag: string; value: number }[];
}

/** Table-driven CRC32C (Castagnoli, reflected polynomial 0x82F63B78). */
const table = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});

export function crc32c(buf: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of buf) crc = table[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's mask: rotate right by 15 bits, add a constant, modulo 2^32. */
export function maskCrc(crc: number): number {
  const rotated = ((crc >>> 15) | (crc << 17)) >>> 0;
  return (rotated + 0xa282ead8) % 2 ** 32;
}

/** Every event in `file`, frame by frame; throws naming the frame on a bad CRC or a cut-off frame. */
export function readEvents(file: string): DecodedEvent[] {
  return readRecords(file).map(decodeEvent);
}

/** The data of every TFRecord frame in `file` (each an encoded Event), CRCs checked. */
export function readRecords(file: string): Buffer[] {
  const buf = fs.readFileSync(file);
  const events: Buffer[] = [];
  let off = 0;
  for (let i = 0; off < buf.length; i++) {
    if (off + 12 > buf.length) throw new Error(`${file}: frame ${i} is cut off in its header`);
    const length = Number(buf.readBigUInt64LE(off));
    if (buf.readUInt32LE(off + 8) !== maskCrc(crc32c(buf.subarray(off, off + 8)))) {
      throw new Error(`${file}: frame ${i} has a bad length CRC`);
    }
    if (off + 16 + length > buf.length) throw new Error(`${file}: frame ${i} is cut off in its data`);
    const data = buf.subarray(off + 12, off + 12 + length);
    if (buf.readUInt32LE(off + 12 + length) !== maskCrc(crc32c(data))) {
      throw new Error(`${file}: frame ${i} has a bad data CRC`);
    }
    events.push(data);
    off += 16 + length;
  }
  return events;
}

type Field =
  | { field: number; wire: 0; value: bigint }
  | { field: number; wire: 1; value: Buffer }
  | { field: number; wire: 2; value: Buffer }
  | { field: number; wire: 5; value: Buffer };

/** The fields of one protobuf message, in order, undecoded beyond their wire type. */
export function parseMessage(buf: Buffer): Field[] {
  const fields: Field[] = [];
  let off = 0;
  const readVarint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (off >= buf.length) throw new Error('protobuf: varint runs past the end');
      const b = buf[off++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  const take = (n: number): Buffer => {
    if (off + n > buf.length) throw new Error('protobuf: field runs past the end');
    off += n;
    return buf.subarray(off - n, off);
  };
  while (off < buf.length) {
    const k = Number(readVarint());
    const field = k >>> 3;
    const wire = k & 7;
    if (wire === 0) fields.push({ field, wire, value: readVarint() });
    else if (wire === 1) fields.push({ field, wire, value: take(8) });
    else if (wire === 2) fields.push({ field, wire, value: take(Number(readVarint())) });
    else if (wire === 5) fields.push({ field, wire, value: take(4) });
    else throw new Error(`protobuf: field ${field} has unsupported wire type ${wire}`);
  }
  return fields;
}

function expectWire<W extends Field['wire']>(f: Field, wire: W, name: string): Extract<Field, { wire: W }> {
  if (f.wire !== wire) throw new Error(`protobuf: ${name} (field ${f.field}) has wire type ${f.wire}, expected ${wire}`);
  return f as Extract<Field, { wire: W }>;
}

// Field numbers from tensorflow/core/util/event.proto and framework/summary.proto.
function decodeEvent(data: Buffer): DecodedEvent {
  const event: DecodedEvent = { wallTime: 0, step: 0, values: [] };
  for (const f of parseMessage(data)) {
    if (f.field === 1) event.wallTime = expectWire(f, 1, 'Event.wall_time').value.readDoubleLE(0);
    else if (f.field === 2) event.step = Number(BigInt.asIntN(64, expectWire(f, 0, 'Event.step').value));
    else if (f.field === 3) event.fileVersion = expectWire(f, 2, 'Event.file_version').value.toString('utf8');
    else if (f.field === 7) {
      const status = parseMessage(expectWire(f, 2, 'Event.session_log').value).find((s) => s.field === 1);
      event.sessionLogStatus = status ? Number(expectWire(status, 0, 'SessionLog.status').value) : 0;
    } else if (f.field === 5) {
      for (const s of parseMessage(expectWire(f, 2, 'Event.summary').value)) {
        if (s.field === 1) event.values.push(decodeValue(expectWire(s, 2, 'Summary.value').value));
      }
    }
  }
  return event;
}

function decodeValue(data: Buffer): { tag: string; value: number } {
  const v = { tag: '', value: NaN };
  for (const f of parseMessage(data)) {
    if (f.field === 1) v.tag = expectWire(f, 2, 'Summary.Value.tag').value.toString('utf8');
    else if (f.field === 2) v.value = expectWire(f, 5, 'Summary.Value.simple_value').value.readFloatLE(0);
  }
  return v;
}
