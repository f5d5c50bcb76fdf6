/**
 * The elementwise half of one LSTM or GRU time step for a batch of rows, as plain loops over
 * Float32Arrays (float64 arithmetic, float32 stored): what follows the step's matmuls, and its
 * derivative written out for backpropagation through time. `RecurrentCell` (recurrent.ts) runs
 * the matmuls on tfjs and these between them: one kernel a step where the cell as tfjs ops took
 * about twenty (and the tape twice as many again), each dispatched at a few microseconds.
 *
 * Layouts, B rows of `size` units (H): `xz` = x Wx + bx and `hz` = h Wh (its bias bh [gates * H]
 * apart: added here), [B, gates * H], the gates side by side (LSTM i, f, g, o; GRU r, z, n); the
 * state [B, H] each. A step keeps
 * four numbers a unit (`kept`, [B, 4H]) for its derivative: the LSTM's gates i, f, g, o; the
 * GRU's r, z, n and b_n. The LSTM also keeps tanh(c') (`tanhC`, [B, H]).
 */

/** The recurrent cells a model can hold (`model.recurrent.type`). */
export type RecurrentType = 'lstm' | 'gru';

/** Columns of x Wx (and h Wh) per unit: 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n). */
export const gatesOf = (type: RecurrentType): number => (type === 'lstm' ? 4 : 3);

/** One forward step: reads `xz`, `hz` and the state before; writes the state after and what the derivative needs. */
export interface StepForward {
  rows: number;
  size: number;
  xz: Float32Array;
  hz: Float32Array;
  bh: Float32Array;
  h: Float32Array;
  /** The LSTM's cell state before the step; null for a GRU. */
  c: Float32Array | null;
  hNext: Float32Array;
  cNext: Float32Array | null;
  kept: Float32Array;
  tanhC: Float32Array | null;
}

/**
 * One backward step. In: `dh`, dLoss/dh' (from the step's output and from the steps after);
 * `dc`, dLoss/dc' (LSTM). Out: `dxz` and `dhz`, dLoss/dxz and dLoss/dhz (the same array may
 * be given for both: an LSTM's are equal); `dhDirect`, the part of dLoss/dh that does not pass
 * through hz (the GRU's z h term; the LSTM writes zeros); `dc` becomes dLoss/dc (LSTM).
 */
export interface StepBackward {
  rows: number;
  size: number;
  kept: Float32Array;
  tanhC: Float32Array | null;
  /** The state the step started from. */
  h: Float32Array;
  c: Float32Array | null;
  dh: Float32Array;
  dc: Float32Array | null;
  dxz: Float32Array;
  dhz: Float32Array;
  dhDirect: Float32Array;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
/** tanh through the sigmoid, in float64 (exact to float32's precision): V8's Math.tanh takes about 21 ns, Math.exp 13. */
const tanh = (x: number): number => 2 / (1 + Math.exp(-2 * x)) - 1;

/**
 * LSTM (gates i, f, g, o): i = s(z_i), f = s(z_f), g = tanh(z_g), o = s(z_o) for z = xz + hz + bh;
 * c' = f c + i g; h' = o tanh(c').
 */
export function lstmForward(a: StepForward): void {
  const H = a.size;
  const { xz, hz, bh, kept } = a;
  const c = a.c!;
  const cNext = a.cNext!;
  const tanhC = a.tanhC!;
  for (let b = 0; b < a.rows; b++) {
    const r = b * 4 * H;
    for (let j = 0; j < H; j++) {
      const k = b * H + j;
      const i = sigmoid(xz[r + j] + hz[r + j] + bh[j]);
      const f = sigmoid(xz[r + H + j] + hz[r + H + j] + bh[H + j]);
      const g = tanh(xz[r + 2 * H + j] + hz[r + 2 * H + j] + bh[2 * H + j]);
      const o = sigmoid(xz[r + 3 * H + j] + hz[r + 3 * H + j] + bh[3 * H + j]);
      const cn = f * c[k] + i * g;
      const t = tanh(cn);
      kept[r + j] = i;
      kept[r + H + j] = f;
      kept[r + 2 * H + j] = g;
      kept[r + 3 * H + j] = o;
      cNext[k] = cn;
      tanhC[k] = t;
      a.hNext[k] = o * t;
    }
  }
}

/** The LSTM step's derivative: dc = dc' + dh' o (1 - tanh^2 c'), then through each gate's nonlinearity. */
export function lstmBackward(a: StepBackward): void {
  const H = a.size;
  const { kept, dh, dxz, dhz } = a;
  const c = a.c!;
  const dc = a.dc!;
  const tanhC = a.tanhC!;
  for (let b = 0; b < a.rows; b++) {
    const r = b * 4 * H;
    for (let j = 0; j < H; j++) {
      const k = b * H + j;
      const i = kept[r + j];
      const f = kept[r + H + j];
      const g = kept[r + 2 * H + j];
      const o = kept[r + 3 * H + j];
      const t = tanhC[k];
      const dcv = dc[k] + dh[k] * o * (1 - t * t);
      const dzi = dcv * g * i * (1 - i);
      const dzf = dcv * c[k] * f * (1 - f);
      const dzg = dcv * i * (1 - g * g);
      const dzo = dh[k] * t * o * (1 - o);
      dc[k] = dcv * f;
      dxz[r + j] = dhz[r + j] = dzi;
      dxz[r + H + j] = dhz[r + H + j] = dzf;
      dxz[r + 2 * H + j] = dhz[r + 2 * H + j] = dzg;
      dxz[r + 3 * H + j] = dhz[r + 3 * H + j] = dzo;
      a.dhDirect[k] = 0;
    }
  }
}

/**
 * GRU (gates r, z, n, as PyTorch writes it), with b = hz + bh: r = s(xz_r + b_r), z = s(xz_z + b_z),
 * n = tanh(xz_n + r b_n); h' = (1 - z) n + z h.
 */
export function gruForward(a: StepForward): void {
  const H = a.size;
  const { xz, hz, bh, h, kept } = a;
  for (let b = 0; b < a.rows; b++) {
    const r3 = b * 3 * H;
    const r4 = b * 4 * H;
    for (let j = 0; j < H; j++) {
      const k = b * H + j;
      const r = sigmoid(xz[r3 + j] + hz[r3 + j] + bh[j]);
      const z = sigmoid(xz[r3 + H + j] + hz[r3 + H + j] + bh[H + j]);
      const hn = hz[r3 + 2 * H + j] + bh[2 * H + j];
      const n = tanh(xz[r3 + 2 * H + j] + r * hn);
      kept[r4 + j] = r;
      kept[r4 + H + j] = z;
      kept[r4 + 2 * H + j] = n;
      kept[r4 + 3 * H + j] = hn;
      a.hNext[k] = (1 - z) * n + z * h[k];
    }
  }
}

/** The GRU step's derivative: through n (and r, which scales hz_n), z, and the direct z h path. */
export function gruBackward(a: StepBackward): void {
  const H = a.size;
  const { kept, h, dh, dxz, dhz } = a;
  for (let b = 0; b < a.rows; b++) {
    const r3 = b * 3 * H;
    const r4 = b * 4 * H;
    for (let j = 0; j < H; j++) {
      const k = b * H + j;
      const r = kept[r4 + j];
      const z = kept[r4 + H + j];
      const n = kept[r4 + 2 * H + j];
      const hn = kept[r4 + 3 * H + j];
      const dan = dh[k] * (1 - z) * (1 - n * n);
      const dar = dan * hn * r * (1 - r);
      const daz = dh[k] * (h[k] - n) * z * (1 - z);
      dxz[r3 + j] = dhz[r3 + j] = dar;
      dxz[r3 + H + j] = dhz[r3 + H + j] = daz;
      dxz[r3 + 2 * H + j] = dan;
      dhz[r3 + 2 * H + j] = dan * r;
      a.dhDirect[k] = dh[k] * z;
    }
  }
}
