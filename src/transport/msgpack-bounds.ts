/**
 * A walk over MessagePack bytes that builds nothing: it reads each header, adds up what
 * decoding would build (containers, entries, an estimate of the bytes on the heap) and stops
 * at the first limit passed. The byte limit on a frame does not bound what decoding builds:
 * one `0x80` byte is an empty object of ~60 heap bytes, so a 64 MB frame of them is 4 GB of
 * heap. This walk runs before msgpackr (which has no such limits) sees the bytes.
 *
 * It also accepts only what the protocol writes: maps with string keys, and of msgpackr's
 * extensions only its typed arrays (`0x74`) of the classes the protocol carries. Records,
 * sets, errors, regexps, dates, bigints and string bundles are refused unread.
 */

/** What a message of one type may decode to. */
export interface DecodeLimits {
  /** Containers (maps, arrays, typed arrays) nested inside the top-level map, at most. */
  maxDepth: number;
  /** Entries of every map and array together (a map's key-value pair counts once). */
  maxEntries: number;
  /** Estimated heap bytes of the decoded value. */
  maxDecodedBytes: number;
}

/** What the walk found: the top-level `type` (if a string) and the totals. */
export interface Shape {
  type: string | undefined;
  entries: number;
  decodedBytes: number;
  depth: number;
}

/**
 * Thrown at the first byte that breaks a rule; the caller turns it into a rejection.
 * `oversized`: a limit passed; `undecodable`: bytes that are not what the protocol writes.
 */
export class ShapeError extends Error {
  constructor(
    readonly kind: 'oversized' | 'undecodable',
    message: string,
  ) {
    super(message);
  }
}

// Rough V8 costs (64-bit, pointer compression): what matters is that they are not below the truth by much.
const OBJECT_BYTES = 64;
const ENTRY_BYTES = 16;
const STRING_BYTES = 24;
const NUMBER_BYTES = 16;
const TYPED_ARRAY_BYTES = 160;
const MAX_KEY_BYTES = 256;

/** msgpackr's typed-array codes the protocol uses: 1 Uint8Array, 5 Int32Array, 7 Float32Array. */
const TYPED_ARRAY_CODES: Record<number, number> = { 1: 1, 5: 4, 7: 4 };

/**
 * Walks `buf`, a whole message, against `limits`; throws ShapeError naming the limit passed.
 * Cost: one step per header, none per typed-array byte.
 */
export function scanMessage(buf: Uint8Array, limits: DecodeLimits): Shape {
  const s = new Scanner(buf, limits);
  const shape = s.top();
  if (s.pos !== buf.length) throw new ShapeError('undecodable', `${buf.length - s.pos} bytes after the end of the message`);
  return shape;
}

class Scanner {
  pos = 0;
  private entries = 0;
  private bytes = 0;
  private deepest = 0;
  private readonly view: DataView;

  constructor(
    private readonly buf: Uint8Array,
    private readonly limits: DecodeLimits,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  top(): Shape {
    const n = this.mapHeader();
    if (n === undefined) {
      this.value(0); // bounded all the same; the decoder then says what it is instead of a map
      return { type: undefined, entries: this.entries, decodedBytes: this.bytes, depth: this.deepest };
    }
    if (2 * n > this.buf.length - this.pos) throw new ShapeError('undecodable', `a map of ${n} entries in ${this.buf.length - this.pos} remaining bytes`);
    this.container(n, 0);
    let type: string | undefined;
    for (let i = 0; i < n; i++) {
      const key = this.key();
      if (key === 'type' && this.isStr()) {
        const start = this.pos;
        const len = this.strHeader()!;
        this.need(len);
        type = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, Math.min(len, 64)).toString('utf8');
        this.pos = start;
      }
      this.value(1);
    }
    return { type, entries: this.entries, decodedBytes: this.bytes, depth: this.deepest };
  }

  /** Counts a container of `n` entries at `depth` against the limits, before reading them. */
  private container(n: number, depth: number): void {
    this.entries += n;
    this.bytes += OBJECT_BYTES + n * ENTRY_BYTES;
    if (depth > this.deepest) this.deepest = depth;
    if (depth > this.limits.maxDepth) throw new ShapeError('oversized', `nesting deeper than ${this.limits.maxDepth}`);
    if (this.entries > this.limits.maxEntries) throw new ShapeError('oversized', `more than ${this.limits.maxEntries} entries in maps and arrays`);
    // Each entry needs at least one byte (a map's two): a count the bytes cannot hold is a lie.
    if (n > this.buf.length - this.pos) throw new ShapeError('undecodable', `a container of ${n} entries in ${this.buf.length - this.pos} remaining bytes`);
    this.checkBytes();
  }

  private checkBytes(): void {
    if (this.bytes > this.limits.maxDecodedBytes) throw new ShapeError('oversized', `decodes to more than ${this.limits.maxDecodedBytes} bytes`);
  }

  private need(n: number): void {
    if (n > this.buf.length - this.pos) throw new ShapeError('undecodable', `truncated at byte ${this.pos}`);
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  private uint(bytes: 1 | 2 | 4): number {
    this.need(bytes);
    const v = bytes === 1 ? this.buf[this.pos] : bytes === 2 ? this.view.getUint16(this.pos) : this.view.getUint32(this.pos);
    this.pos += bytes;
    return v;
  }

  private skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  private isStr(): boolean {
    const t = this.buf[this.pos];
    return (t >= 0xa0 && t <= 0xbf) || t === 0xd9 || t === 0xda || t === 0xdb;
  }

  /** A string's length, consuming its header; undefined (nothing consumed) if the next value is not a string. */
  private strHeader(): number | undefined {
    if (!this.isStr()) return undefined;
    const t = this.u8();
    return t <= 0xbf ? t - 0xa0 : this.uint(t === 0xd9 ? 1 : t === 0xda ? 2 : 4);
  }

  private mapHeader(): number | undefined {
    this.need(1);
    const t = this.buf[this.pos];
    if (t >= 0x80 && t <= 0x8f) return (this.pos++, t - 0x80);
    if (t === 0xde || t === 0xdf) return (this.pos++, this.uint(t === 0xde ? 2 : 4));
    return undefined;
  }

  /** A map key: a string of at most MAX_KEY_BYTES. Returns it when it is short enough to matter ("type"). */
  private key(): string | undefined {
    const len = this.strHeader();
    if (len === undefined) throw new ShapeError('undecodable', `a map key at byte ${this.pos} is not a string`);
    if (len > MAX_KEY_BYTES) throw new ShapeError('undecodable', `a map key of ${len} bytes (at most ${MAX_KEY_BYTES})`);
    this.need(len);
    const k = len === 4 ? String.fromCharCode(...this.buf.subarray(this.pos, this.pos + 4)) : undefined;
    this.pos += len;
    this.bytes += STRING_BYTES + 2 * len;
    return k;
  }

  private value(depth: number): void {
    const t = this.u8();
    if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) return this.number(0); // fixints, nil, booleans
    if (t <= 0x8f) return this.map(t - 0x80, depth);
    if (t <= 0x9f) return this.array(t - 0x90, depth);
    if (t <= 0xbf) return this.string(t - 0xa0);
    switch (t) {
      case 0xc4: case 0xc5: case 0xc6: { // bin: a Buffer (a view on the frame)
        const len = this.uint(t === 0xc4 ? 1 : t === 0xc5 ? 2 : 4);
        this.skip(len);
        this.bytes += TYPED_ARRAY_BYTES;
        return this.checkBytes();
      }
      case 0xc7: return this.ext(this.uint(1), depth);
      case 0xc8: return this.ext(this.uint(2), depth);
      case 0xc9: return this.ext(this.uint(4), depth);
      case 0xca: return this.number(4);
      case 0xcb: return this.number(8);
      case 0xcc: return this.number(1);
      case 0xcd: return this.number(2);
      case 0xce: return this.number(4);
      case 0xcf: return this.number(8);
      case 0xd0: return this.number(1);
      case 0xd1: return this.number(2);
      case 0xd2: return this.number(4);
      case 0xd3: return this.number(8);
      case 0xd4: return this.ext(1, depth);
      case 0xd5: return this.ext(2, depth);
      case 0xd6: return this.ext(4, depth);
      case 0xd7: return this.ext(8, depth);
      case 0xd8: return this.ext(16, depth);
      case 0xd9: return this.string(this.uint(1));
      case 0xda: return this.string(this.uint(2));
      case 0xdb: return this.string(this.uint(4));
      case 0xdc: return this.array(this.uint(2), depth);
      case 0xdd: return this.array(this.uint(4), depth);
      case 0xde: return this.map(this.uint(2), depth);
      case 0xdf: return this.map(this.uint(4), depth);
      default: throw new ShapeError('undecodable', `byte ${this.pos - 1} (0x${t.toString(16)}) is not a MessagePack value`); // 0xc1
    }
  }

  private number(payload: number): void {
    this.skip(payload);
    this.bytes += NUMBER_BYTES;
  }

  private string(len: number): void {
    this.skip(len);
    this.bytes += STRING_BYTES + 2 * len;
    this.checkBytes();
  }

  private map(n: number, depth: number): void {
    if (2 * n > this.buf.length - this.pos) throw new ShapeError('undecodable', `a map of ${n} entries in ${this.buf.length - this.pos} remaining bytes`);
    this.container(n, depth);
    for (let i = 0; i < n; i++) {
      this.key();
      this.value(depth + 1);
    }
  }

  private array(n: number, depth: number): void {
    this.container(n, depth);
    for (let i = 0; i < n; i++) this.value(depth + 1);
  }

  /** Only msgpackr's typed arrays: type 0x74, a class code, then whole elements. */
  private ext(len: number, depth: number): void {
    const type = this.u8();
    if (type !== 0x74) throw new ShapeError('undecodable', `MessagePack extension type ${type} (only typed arrays, 116, are accepted)`);
    this.need(len);
    if (len < 1) throw new ShapeError('undecodable', 'a typed array without its class code');
    const size = TYPED_ARRAY_CODES[this.buf[this.pos]];
    if (size === undefined) throw new ShapeError('undecodable', `typed-array class code ${this.buf[this.pos]} (only Uint8Array 1, Int32Array 5, Float32Array 7 are accepted)`);
    if ((len - 1) % size !== 0) throw new ShapeError('undecodable', `a typed array of ${len - 1} bytes, not whole elements of ${size}`);
    this.pos += len;
    if (depth > this.deepest) this.deepest = depth;
    if (depth > this.limits.maxDepth) throw new ShapeError('oversized', `nesting deeper than ${this.limits.maxDepth}`);
    this.bytes += TYPED_ARRAY_BYTES + len; // msgpackr copies it (into an aligned buffer)
    this.checkBytes();
  }
}
