import { hasLow } from '../../core/forward';
import { squashScale } from '../../envs/stepper';
import { cellOps } from './cell-ops';
import type { PolicyGraph } from './policy-graph';

/**
 * `rl export --format tfjs`: a TensorFlow.js graph model (model.json and weights.bin) that plain
 * `@tensorflow/tfjs` loads with `tf.loadGraphModel(url)`, or from memory with `tf.io.fromMemory`.
 * It is a small TensorFlow GraphDef written out directly: input `obs` [batch, obsSize] (and for
 * a policy trained with action masks the optional `mask`, int32 [batch, n], 1 legal: a
 * PlaceholderWithDefault of all ones), outputs `head` (unmasked) and `action` (the best legal one):
 *
 *   const [action, head] = model.execute({ obs, mask }, ['action', 'head']);
 *
 * A uint8 picture's values go in as they are (0..255) and are scaled as training did (Sub, Mul).
 * Conv layers are Conv2D (NHWC, the filters as trained), dense layers MatMul + BiasAdd.
 * A Discrete action is ArgMax (int32) of the head with illegal actions at -Infinity (SelectV2), a
 * Box one Minimum(Maximum(mean, low), high), or for a squashing policy (`boxActions: 'squash'`)
 * Tanh(mean) * (high - low) / 2 + (high + low) / 2 (`squashScale`).
 *
 * A recurrent policy also takes its state, `h` (and `c` for an LSTM) float32 [batch, size], zeros
 * at an episode's first step, and gives the next step's, `h_next` (and `c_next`): the cell as
 * MatMul, BiasAdd, Slice, Sigmoid, Tanh, AddV2, Sub and Mul nodes (`cellOps`).
 *
 *   const [action, head, hNext, cNext] = model.execute({ obs, h, c }, ['action', 'head', 'h_next', 'c_next']);
 */

interface WeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

export interface TfjsGraphModel {
  /** model.json's content (its weightsManifest names `weights.bin`). */
  modelJson: Record<string, unknown>;
  /** weights.bin's content. */
  weights: Uint8Array;
}

const FLOAT = { type: 'DT_FLOAT' };
const INT32 = { type: 'DT_INT32' };

function tfString(s: string): { s: string } {
  return { s: Buffer.from(s).toString('base64') };
}

function ints(values: number[]): { list: { i: string[] } } {
  return { list: { i: values.map(String) } };
}

function tensorShape(shape: number[]): { dim: { size: string }[] } {
  return { dim: shape.map((d) => ({ size: String(d) })) };
}

export function tfjsGraphModel(graph: PolicyGraph): TfjsGraphModel {
  const nodes: GraphNode[] = [];
  const weights: WeightEntry[] = [];
  const constant = (name: string, shape: number[], data: Float32Array | Int32Array): string => {
    const dtype = data instanceof Int32Array ? 'int32' : 'float32';
    weights.push({ name, shape, dtype, data });
    nodes.push({ name, op: 'Const', attr: { dtype: dtype === 'int32' ? INT32 : FLOAT, value: { tensor: { dtype: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: tensorShape(shape) } } } });
    return name;
  };
  const op = (name: string, type: string, input: string[], attr: Record<string, unknown> = {}): string => {
    nodes.push({ name, op: type, input, attr });
    return name;
  };

  nodes.push({ name: 'obs', op: 'Placeholder', attr: { dtype: FLOAT, shape: { shape: tensorShape([-1, graph.obsSize]) } } });
  let x = 'obs';
  const s = graph.inputScale;
  if (s && hasLow(s)) x = op('obs/minus_low', 'Sub', [x, constant('obs/low', [s.low.length], s.low)], { T: FLOAT });
  if (s) x = op('obs/scaled', 'Mul', [x, constant('obs/scale', [s.scale.length], s.scale)], { T: FLOAT });
  let lastConv: [number, number, number] | null = null;
  const r = graph.recurrent;
  const cell = () => {
    if (lastConv) x = op('conv/flatten', 'Reshape', [x, constant('conv/flatten/shape', [2], Int32Array.of(-1, lastConv[0] * lastConv[1] * lastConv[2]))], { T: FLOAT, Tshape: INT32 });
    lastConv = null;
    const state = r!.kind === 'lstm' ? ['h', 'c'] : ['h'];
    for (const name of state) nodes.push({ name, op: 'Placeholder', attr: { dtype: FLOAT, shape: { shape: tensorShape([-1, r!.size]) } } });
    const { ops, weights: cellWeights } = cellOps(r!, { x, h: 'h', c: 'c', hNext: 'h_next', cNext: 'c_next' });
    for (const w of cellWeights) constant(w.name, w.dims, w.data);
    for (const o of ops) {
      switch (o.op) {
        case 'linear':
          op(o.out, 'BiasAdd', [op(`${o.out}/matmul`, 'MatMul', [o.x, o.w], { T: FLOAT, transpose_a: { b: false }, transpose_b: { b: false } }), o.b], { T: FLOAT, data_format: tfString('NHWC') });
          break;
        case 'columns':
          op(o.out, 'Slice', [o.x, constant(`${o.out}/begin`, [2], Int32Array.of(0, o.begin)), constant(`${o.out}/size`, [2], Int32Array.of(-1, o.size))], { T: FLOAT, Index: INT32 });
          break;
        case 'oneMinus':
          op(o.out, 'Sub', [constant(`${o.out}/one`, [], Float32Array.of(1)), o.x], { T: FLOAT });
          break;
        case 'sigmoid':
        case 'tanh':
          op(o.out, o.op === 'sigmoid' ? 'Sigmoid' : 'Tanh', [o.x], { T: FLOAT });
          break;
        default:
          op(o.out, { add: 'AddV2', sub: 'Sub', mul: 'Mul' }[o.op], [o.a, o.b], { T: FLOAT });
      }
    }
    x = 'h_next';
  };
  graph.layers.forEach((l, i) => {
    if (r && i === r.at) cell();
    if (l.kind === 'conv') {
      if (i === 0) x = op('conv/image', 'Reshape', [x, constant('conv/image/shape', [4], Int32Array.of(-1, ...l.input))], { T: FLOAT, Tshape: INT32 });
      const filter = constant(`conv/${i}/w`, [l.kernel, l.kernel, l.input[2], l.output[2]], l.w);
      x = op(`conv/${i}/conv`, 'Conv2D', [x, filter], {
        T: FLOAT,
        strides: ints([1, l.stride, l.stride, 1]),
        padding: tfString(l.padding.toUpperCase()),
        data_format: tfString('NHWC'),
        dilations: ints([1, 1, 1, 1]),
      });
      x = op(`conv/${i}/bias`, 'BiasAdd', [x, constant(`conv/${i}/b`, [l.output[2]], l.b)], { T: FLOAT, data_format: tfString('NHWC') });
      x = op(`conv/${i}/relu`, 'Relu', [x], { T: FLOAT });
      lastConv = l.output;
      return;
    }
    if (lastConv) {
      const [h, w, c] = lastConv;
      x = op('conv/flatten', 'Reshape', [x, constant('conv/flatten/shape', [2], Int32Array.of(-1, h * w * c))], { T: FLOAT, Tshape: INT32 });
      lastConv = null;
    }
    const last = i === graph.layers.length - 1;
    const name = last ? 'head' : `dense/${i}`;
    x = op(`${name}/matmul`, 'MatMul', [x, constant(`${name}/w`, [l.inputs, l.outputs], l.w)], { T: FLOAT, transpose_a: { b: false }, transpose_b: { b: false } });
    x = op(last ? 'head' : `${name}/bias`, 'BiasAdd', [x, constant(`${name}/b`, [l.outputs], l.b)], { T: FLOAT, data_format: tfString('NHWC') });
    if (l.activation !== 'linear') x = op(`${name}/${l.activation}`, l.activation === 'tanh' ? 'Tanh' : 'Relu', [x], { T: FLOAT });
  });

  const a = graph.action;
  if (a.kind === 'argmax') {
    let scores = 'head';
    if (graph.masked) {
      // The mask: a placeholder with a default (all ones: every action legal), so a caller may leave
      // it out. Illegal actions' scores become -Infinity before ArgMax.
      const ones = constant('mask/default', [1, a.n], new Int32Array(a.n).fill(1));
      nodes.push({ name: 'mask', op: 'PlaceholderWithDefault', input: [ones], attr: { dtype: INT32, shape: { shape: tensorShape([-1, a.n]) } } });
      const legal = op('mask/legal', 'Greater', ['mask', constant('mask/zero', [], Int32Array.of(0))], { T: INT32 });
      scores = op('action/scores', 'SelectV2', [legal, 'head', constant('mask/illegal', [], Float32Array.of(-Infinity))], { T: FLOAT });
    }
    op('action', 'ArgMax', [scores, constant('action/axis', [], Int32Array.of(1))], { T: FLOAT, Tidx: INT32, output_type: INT32 });
  } else if (a.kind === 'squash') {
    const { half, mid } = squashScale(a);
    const tanh = op('action/tanh', 'Tanh', ['head'], { T: FLOAT });
    const scaled = op('action/scaled', 'Mul', [tanh, constant('action/half_range', [half.length], Float32Array.from(half))], { T: FLOAT });
    op('action', 'AddV2', [scaled, constant('action/mid', [mid.length], Float32Array.from(mid))], { T: FLOAT });
  } else {
    const low = op('action/low', 'Maximum', ['head', constant('action/low/value', [a.low.length], a.low)], { T: FLOAT });
    op('action', 'Minimum', [low, constant('action/high/value', [a.high.length], a.high)], { T: FLOAT });
  }

  const bytes = new Uint8Array(weights.reduce((n, w) => n + w.data.byteLength, 0));
  let at = 0;
  for (const w of weights) {
    bytes.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), at);
    at += w.data.byteLength;
  }
  const actionSize = graph.layers[graph.layers.length - 1].kind === 'dense' ? (graph.layers[graph.layers.length - 1] as { outputs: number }).outputs : 0;
  const stateNames = !r ? [] : r.kind === 'lstm' ? ['h', 'c'] : ['h'];
  const modelJson = {
    format: 'graph-model',
    generatedBy: `rl-zmq ${graph.meta.packageVersion}`,
    convertedBy: `rl-zmq ${graph.meta.packageVersion} (rl export --format tfjs)`,
    modelTopology: { node: nodes, library: {}, versions: { producer: 1 } },
    signature: {
      inputs: {
        obs: { name: 'obs:0', dtype: 'DT_FLOAT', tensorShape: tensorShape([-1, graph.obsSize]) },
        ...(a.kind === 'argmax' && graph.masked ? { mask: { name: 'mask:0', dtype: 'DT_INT32', tensorShape: tensorShape([-1, a.n]) } } : {}),
        ...Object.fromEntries(stateNames.map((n) => [n, { name: `${n}:0`, dtype: 'DT_FLOAT', tensorShape: tensorShape([-1, r!.size]) }])),
      },
      outputs: {
        action: { name: 'action:0', dtype: a.kind === 'argmax' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: tensorShape(a.kind === 'argmax' ? [-1] : [-1, actionSize]) },
        head: { name: 'head:0', dtype: 'DT_FLOAT', tensorShape: tensorShape([-1, actionSize]) },
        ...Object.fromEntries(stateNames.map((n) => [`${n}_next`, { name: `${n}_next:0`, dtype: 'DT_FLOAT', tensorShape: tensorShape([-1, r!.size]) }])),
      },
    },
    weightsManifest: [{ paths: ['weights.bin'], weights: weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }],
    userDefinedMetadata: { algorithm: graph.meta.algorithm, envId: graph.meta.envId, head: graph.head, packageVersion: graph.meta.packageVersion },
  };
  return { modelJson, weights: bytes };
}
