/**
 * Z85 (ZeroMQ RFC 32): 4 bytes as 5 printable characters. CURVE keys are 32 bytes, 40 characters.
 * zeromq.js takes and gives keys as Z85 text but has no encoder; ZAP requests carry raw bytes.
 */
const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const digit = new Map([...alphabet].map((c, i) => [c, i]));

/** Bytes (a multiple of 4) to text. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new RangeError(`z85Encode: ${bytes.length} bytes is not a multiple of 4`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let value = view.getUint32(i);
    const group = new Array<string>(5);
    for (let j = 4; j >= 0; j--, value = Math.floor(value / 85)) group[j] = alphabet[value % 85];
    text += group.join('');
  }
  return text;
}

/** Text (a multiple of 5 characters) to bytes; null when it is not Z85. */
export function z85Decode(text: string): Uint8Array | null {
  if (text.length % 5 !== 0) return null;
  const bytes = new Uint8Array((text.length / 5) * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const d = digit.get(text[i + j]);
      if (d === undefined) return null;
      value = value * 85 + d;
    }
    if (value > 0xffffffff) return null; // "#####" and the like: five digits that overflow 32 bits
    view.setUint32((i / 5) * 4, value);
  }
  return bytes;
}
