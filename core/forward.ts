import type { ModelConfig, NamedTensor, Observation } from './algorithm';
import type { SpaceSpec } from './spaces';

/**
 * A policy's forward pass as plain layers: what a sampling policy hands an inference engine
 * other than tfjs (onnxruntime, `workers.inference`), and what `rl export` writes. The layers
 * hold their weights; the engine builds its graph once from the layers' shapes and swaps the
 * weights in when new ones arrive (`Forward.setWeights`).
 */

/** One conv layer, relu after it: NHWC in and out, the filter HWIO flattened ([kernel, kernel, c, filters]). */
export interface ConvSpec {
  /** Tells a conv layer from a dense one. */
  kind: 'conv';
  /** The image it reads, [h, w, c]. */
  input: [number, number, number];
  /** The image it writes, [h, w, filters]. */
  output: [number, number, number];
  /** The window's side, in pixels. */
  kernel: number;
  /** How far the window moves between outputs. */
  stride: number;
  /** 'valid': windows inside the image only; 'same': zero pixels around it, ceil(size / stride) outputs. */
  padding: 'valid' | 'same';
  /** Zero pixels before and after along rows and columns (as TensorFlow pads 'same'). */
  pads: {
    /** Rows of zeros above. */
    top: number;
    /** Rows of zeros below. */
    bottom: number;
    /** Columns of zeros on the left. */
    left: number;
    /** Columns of zeros on the right. */
    right: number;
  };
  /** The filter, HWIO flattened: [kernel * kernel * c, filters]. */
  w: Float32Array;
  /** One bias per filter. */
  b: Float32Array;
}

/** y = act(x W + b), W [inputs, outputs] row-major. */
export interface DenseSpec {
  /** Tells a dense layer from a conv one. */
  kind: 'dense';
  /** Numbers it reads per row. */
  inputs: number;
  /** Numbers it writes per row. */
  outputs: number;
  /** Applied after x W + b. */
  activation: 'tanh' | 'relu' | 'linear';
  /** W, [inputs, outputs] row-major. */
  w: Float32Array;
  /** b, [outputs]. */
  b: Float32Array;
}

/**
 * A recurrent cell as trained, for the exports: xz = x Wx + bx and hz = h Wh + bh, the gates side
 * by side in each (LSTM i, f, g, o: i = s(xz_i + hz_i), f = s(..f), g = tanh(..g), o = s(..o),
 * c' = f c + i g, h' = o tanh(c'); GRU r, z, n: r = s(xz_r + hz_r), z = s(xz_z + hz_z),
 * n = tanh(xz_n + r hz_n), h' = (1 - z) n + z h), s the logistic sigmoid.
 */
export interface RecurrentSpec {
  /** Which cell: state h and c (lstm) or h (gru). */
  kind: 'lstm' | 'gru';
  /** Numbers it reads per row (the observation's, or the conv layers' output). */
  inputs: number;
  /** Units: numbers per row of each state entry and of its output h'. */
  size: number;
  /** Wx, [inputs, gates * size] row-major (4 gates for an LSTM, 3 for a GRU). */
  wx: Float32Array;
  /** bx, [gates * size]. */
  bx: Float32Array;
  /** Wh, [size, gates * size] row-major. */
  wh: Float32Array;
  /** bh, [gates * size]. */
  bh: Float32Array;
}

/** A layer of a `ForwardNet`'s trunk. */
export type LayerSpec = ConvSpec | DenseSpec;

/**
 * A network from flat observations [rows, obsSize] (row-major h, w, c for an image): a trunk,
 * then towers that each read the trunk's output, their last outputs side by side [rows, sum of
 * the towers' outputs] (an actor-critic: the policy tower then the value tower).
 */
export interface ForwardNet {
  /** Numbers per observation (h * w * c for an image). */
  obsSize: number;
  /** The observations' element type: a uint8 image is converted to float at the network's input. */
  obsDtype: 'float32' | 'uint8';
  /** Applied to the observations (as floats) before the trunk (`inputScale`); absent or null: none. */
  inputScale?: InputScale | null;
  /** Conv layers first (their last output flattened row-major h, w, c), then dense layers; may be empty. */
  trunk: LayerSpec[];
  /** Dense layers each, at least one tower of at least one layer. */
  towers: DenseSpec[][];
}

/**
 * What the network reads of a uint8 Box observation: x = (obs - low) * scale per element, scale
 * = 1 / (high - low) (1 where high = low), so that pixels 0..255 reach it as 0..1, as
 * Stable-Baselines3's `normalize_images` and CleanRL's `x / 255` have them. One number each when
 * the bounds are the same for every element, else one per element (`obsSize`).
 */
export interface InputScale {
  /** Subtracted first: [1] or [obsSize]. */
  low: Float32Array;
  /** Then multiplied: [1] or [obsSize], as long as `low`. */
  scale: Float32Array;
}

/**
 * The scaling of observations of `space` at the network's input: for a uint8 Box, its bounds
 * mapped to [0, 1]; null for a float32 Box (no scaling: this is not observation
 * normalisation), for a Discrete space, and for a uint8 Box already 0..1 (binary planes, as
 * MinAtar's), which then costs nothing.
 */
export function inputScale(space: SpaceSpec): InputScale | null {
  if (space.type !== 'Box' || space.dtype !== 'uint8') return null;
  const { low, high } = space;
  if (low.every((l) => l === 0) && high.every((h) => h === 1)) return null;
  const uniform = low.every((l) => l === low[0]) && high.every((h) => h === high[0]);
  const n = uniform ? 1 : low.length;
  const scale = new Float32Array(n);
  for (let i = 0; i < n; i++) scale[i] = high[i] > low[i] ? 1 / (high[i] - low[i]) : 1;
  return { low: Float32Array.from(low.slice(0, n)), scale };
}

/** Whether `s` subtracts anything (a uint8 picture's low is usually 0 everywhere: then only the multiply). */
export function hasLow(s: InputScale): boolean {
  return s.low.some((l) => l !== 0);
}

/** Floats per row of a net's output: the towers' last outputs. */
export function netOutputs(net: ForwardNet): number {
  return net.towers.reduce((a, t) => a + t[t.length - 1].outputs, 0);
}

/** One network built by an engine: outputs for `rows` observations, and new weights for the same shapes. */
export interface Forward {
  /** [rows * outputs], row-major; the caller may keep it. */
  run(obs: Observation, rows: number): Float32Array;
  /** The same layers' shapes with new weights (a broadcast): no rebuild. */
  setWeights(net: ForwardNet): void;
  /** Frees what the engine holds for this network. */
  dispose(): void;
}

/** An inference engine the runtime offers a sampling policy (`createPolicy`'s `ctx.engine`). */
export interface ForwardEngine {
  /** 'onnx', or another engine's name; what `SamplingPolicy.engine` reports. */
  readonly name: string;
  /** Why this engine cannot run `net`, or null when it can. */
  unsupported(net: ForwardNet): string | null;
  /** Builds `net` (its shapes and its first weights). */
  create(net: ForwardNet): Forward;
}

/** Outputs along one axis and the padding around it, as TensorFlow lays out 'valid' and 'same' (the odd pixel after). */
export function convAxis(size: number, kernel: number, stride: number, padding: 'valid' | 'same'): { out: number; before: number; after: number } {
  if (padding === 'valid') return { out: Math.floor((size - kernel) / stride) + 1, before: 0, after: 0 };
  const out = Math.ceil(size / stride);
  const total = Math.max(0, (out - 1) * stride + kernel - size);
  return { out, before: Math.floor(total / 2), after: total - Math.floor(total / 2) };
}

/**
 * The conv layers of `model.conv` over an `image`, their weights `conv/<i>/w` ([kernel^2 * c,
 * filters], HWIO flattened) and `conv/<i>/b` from `get`; `check` sees each weight with the shape it must have.
 */
export function convSpecs(
  model: Pick<ModelConfig, 'conv'>,
  image: [number, number, number],
  get: (name: string) => NamedTensor,
  check: (w: NamedTensor, shape: number[]) => void = () => {},
): { layers: ConvSpec[]; output: [number, number, number] } {
  let input = image;
  const layers = (model.conv ?? []).map((l, i) => {
    const rows = convAxis(input[0], l.kernel, l.stride, l.padding);
    const cols = convAxis(input[1], l.kernel, l.stride, l.padding);
    const output: [number, number, number] = [rows.out, cols.out, l.filters];
    const w = get(`conv/${i}/w`);
    check(w, [l.kernel * l.kernel * input[2], l.filters]);
    const spec: ConvSpec = { kind: 'conv', input, output, kernel: l.kernel, stride: l.stride, padding: l.padding, pads: { top: rows.before, bottom: rows.after, left: cols.before, right: cols.after }, w: w.data, b: get(`conv/${i}/b`).data };
    input = output;
    return spec;
  });
  return { layers, output: input };
}
