import type { Observation } from './algorithm';

/** The arrays end to end (the one array itself when there is one). */
export function concatFloat32(arrays: Float32Array[]): Float32Array {
  return concatTyped(arrays, (n) => new Float32Array(n));
}

/** The byte arrays end to end (the one array itself when there is one). */
export function concatBytes(arrays: Uint8Array[]): Uint8Array {
  return concatTyped(arrays, (n) => new Uint8Array(n));
}

/** Observations end to end: bytes when every part is uint8, float32 otherwise (bytes widened). */
export function concatObs(arrays: Observation[]): Observation {
  if (arrays.every((a) => a instanceof Uint8Array)) return concatBytes(arrays as Uint8Array[]);
  return concatFloat32(arrays.map((a) => (a instanceof Float32Array ? a : Float32Array.from(a))));
}

function concatTyped<T extends Float32Array | Uint8Array>(arrays: T[], make: (n: number) => T): T {
  if (arrays.length === 1) return arrays[0];
  const out = make(arrays.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}
