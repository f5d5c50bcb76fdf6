import { hasLow, type InputScale, type LayerSpec } from '../../core/forward';
import { squashScale } from '../../envs/stepper';
import { cellOps, type CellOp } from './cell-ops';
import type { PolicyGraph } from './policy-graph';

/**
 * ONNX models (opset 17, IR version 8), encoded with `@bufbuild/protobuf` from ONNX's own
 * onnx.proto as the `onnx-buf` package compiles it. `OnnxGraph` writes a policy's layers as
 * nodes, once for both users: `rl export --format onnx` (weights as initializers, greedy
 * action outputs) and the workers' onnxruntime inference (weights as graph inputs, so that new
 * weights are fed, not rebuilt: src/inference/onnx-forward.ts).
 *
 * Dense layers are Gemm; conv layers are Conv on NCHW (the flat NHWC observation is reshaped
 * and transposed first, and back before the MLP), with the explicit padding TensorFlow's
 * 'same' gives. A uint8 observation is cast to float first, then scaled as the learner scales
 * it (`inputScale`: Sub and Mul, a uint8 Box's bounds to [0, 1]).
 */
export const ONNX_OPSET = 17;
const IR_VERSION = 8n;

/** The ES-module-only packages the encoder needs (this project compiles to CommonJS), loaded once. */
export async function loadOnnxModules() {
  return { protobuf: await import('@bufbuild/protobuf'), onnx: await import('onnx-buf') };
}
export type OnnxModules = Awaited<ReturnType<typeof loadOnnxModules>>;

type Protobuf = typeof import('@bufbuild/protobuf', { with: { 'resolution-mode': 'import' } });
type OnnxPkg = typeof import('onnx-buf', { with: { 'resolution-mode': 'import' } });
type Init<S extends Parameters<Protobuf['create']>[0]> = import('@bufbuild/protobuf', { with: { 'resolution-mode': 'import' } }).MessageInitShape<S>;
type Node = Init<OnnxPkg['NodeProtoSchema']>;
type Attribute = NonNullable<Node['attribute']>[number];
type Tensor = Init<OnnxPkg['TensorProtoSchema']>;
type ValueInfo = Init<OnnxPkg['ValueInfoProtoSchema']>;

/** One weight of a layer as the graph takes it: its name, dims and data in ONNX's layout. */
export interface OnnxWeight {
  name: string;
  dims: number[];
  data: Float32Array;
}

/** How a layer's weight enters the graph (an initializer, a graph input): the name the graph knows it by. */
export type WeightSink = (w: OnnxWeight) => string;

/** Each layer's weight and bias, in order, as `OnnxGraph.layers` names and lays them out (the last layer's `<last>/w`). */
export function onnxWeights(layers: LayerSpec[], last: string, prefix = ''): OnnxWeight[] {
  return layers.flatMap((l, i): OnnxWeight[] => {
    if (l.kind === 'conv') {
      const [k, c, f] = [l.kernel, l.input[2], l.output[2]];
      return [
        { name: `${prefix}conv/${i}/w`, dims: [f, c, k, k], data: hwioToOihw(l.w, k, c, f) },
        { name: `${prefix}conv/${i}/b`, dims: [f], data: l.b },
      ];
    }
    const name = i === layers.length - 1 ? last : `${prefix}dense/${i}`;
    return [
      { name: `${name}/w`, dims: [l.inputs, l.outputs], data: l.w },
      { name: `${name}/b`, dims: [l.outputs], data: l.b },
    ];
  });
}

export class OnnxGraph {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  readonly inputs: ValueInfo[] = [];

  constructor(private readonly m: OnnxModules) {}

  get types() {
    return this.m.onnx.TensorProto_DataType;
  }

  constant(name: string, dims: number[], data: Float32Array | BigInt64Array | Uint8Array): string {
    const type = data instanceof BigInt64Array ? this.types.INT64 : data instanceof Uint8Array ? this.types.UINT8 : this.types.FLOAT;
    this.initializers.push({ name, dims: dims.map(BigInt), dataType: type, rawData: new Uint8Array(data.slice().buffer as ArrayBuffer) });
    return name;
  }

  input(name: string, elemType: number, dims: (number | 'batch')[]): string {
    this.inputs.push({ name, type: tensorType(elemType, dims) });
    return name;
  }

  op(opType: string, input: string[], output: string, attribute: Attribute[] = []): string {
    this.nodes.push({ opType, input, output: [output], name: output, attribute });
    return output;
  }

  int(name: string, i: number): Attribute {
    return { name, type: this.m.onnx.AttributeProto_AttributeType.INT, i: BigInt(i) };
  }

  ints(name: string, ints: number[]): Attribute {
    return { name, type: this.m.onnx.AttributeProto_AttributeType.INTS, ints: ints.map(BigInt) };
  }

  /** `x` [batch, obsSize] scaled by `s` (`inputScale`): Sub where the low bound is not 0, then Mul; `x` itself without `s`. */
  scaled(x: string, s: InputScale | null | undefined): string {
    if (!s) return x;
    if (hasLow(s)) x = this.op('Sub', [x, this.constant('obs/low', [s.low.length], s.low)], 'obs/minus_low');
    return this.op('Mul', [x, this.constant('obs/scale', [s.scale.length], s.scale)], 'obs/scaled');
  }

  /**
   * The layers on input `x` [batch, features]; the last layer's output is named `last`, the
   * others' names start with `prefix`. Weights go through `weight` in ONNX's layout. Conv
   * layers read `x` as NHWC rows; their output is flattened (h, w, c) before a dense layer or at the end.
   */
  layers(x: string, layers: LayerSpec[], last: string, weight: WeightSink, prefix = ''): string {
    const ws = onnxWeights(layers, last, prefix);
    let lastConv: [number, number, number] | null = null;
    const flatten = (name: string) => {
      const nhwc = this.op('Transpose', [x], `${prefix}conv/nhwc`, [this.ints('perm', [0, 2, 3, 1])]);
      x = this.op('Reshape', [nhwc, this.constant(`${prefix}conv/flatten/shape`, [2], BigInt64Array.of(-1n, BigInt(lastConv![0] * lastConv![1] * lastConv![2])))], name);
      lastConv = null;
    };
    layers.forEach((l, i) => {
      if (l.kind === 'conv') {
        if (!lastConv) {
          const image = this.op('Reshape', [x, this.constant(`${prefix}conv/image/shape`, [4], BigInt64Array.of(-1n, ...l.input.map(BigInt)))], `${prefix}conv/image`);
          x = this.op('Transpose', [image], `${prefix}conv/nchw`, [this.ints('perm', [0, 3, 1, 2])]);
        }
        x = this.op('Conv', [x, weight(ws[2 * i]), weight(ws[2 * i + 1])], `${prefix}conv/${i}/conv`, [
          this.ints('kernel_shape', [l.kernel, l.kernel]),
          this.ints('strides', [l.stride, l.stride]),
          this.ints('pads', [l.pads.top, l.pads.left, l.pads.bottom, l.pads.right]),
        ]);
        x = this.op('Relu', [x], `${prefix}conv/${i}/relu`);
        lastConv = l.output;
        if (i === layers.length - 1) flatten(last);
        return;
      }
      if (lastConv) flatten(`${prefix}conv/flatten`);
      const name = i === layers.length - 1 ? last : `${prefix}dense/${i}`;
      const y = this.op('Gemm', [x, weight(ws[2 * i]), weight(ws[2 * i + 1])], l.activation === 'linear' ? name : `${name}/gemm`);
      x = l.activation === 'linear' ? y : this.op(l.activation === 'tanh' ? 'Tanh' : 'Relu', [y], name);
    });
    return x;
  }

  /** A recurrent cell's step (`cellOps`): Gemm, Slice, Sigmoid, Tanh, Add, Sub, Mul; its weights through `weight`. */
  cell(ops: CellOp[], weights: OnnxWeight[], weight: WeightSink): void {
    const names = new Map(weights.map((w) => [w.name, weight(w)]));
    const int64 = (name: string, v: number) => this.constant(name, [1], BigInt64Array.of(BigInt(v)));
    for (const o of ops) {
      switch (o.op) {
        case 'linear':
          this.op('Gemm', [o.x, names.get(o.w)!, names.get(o.b)!], o.out);
          break;
        case 'columns':
          this.op('Slice', [o.x, int64(`${o.out}/starts`, o.begin), int64(`${o.out}/ends`, o.begin + o.size), int64(`${o.out}/axes`, 1)], o.out);
          break;
        case 'oneMinus':
          this.op('Sub', [this.constant(`${o.out}/one`, [1], Float32Array.of(1)), o.x], o.out);
          break;
        case 'sigmoid':
        case 'tanh':
          this.op(o.op === 'sigmoid' ? 'Sigmoid' : 'Tanh', [o.x], o.out);
          break;
        default:
          this.op({ add: 'Add', sub: 'Sub', mul: 'Mul' }[o.op], [o.a, o.b], o.out);
      }
    }
  }

  /** The model's bytes, with these outputs (name, element type, dims). */
  encode(opts: { name: string; docString: string; producerVersion: string; outputs: { name: string; elemType: number; dims: (number | 'batch')[] }[]; metadata?: Record<string, string> }): Uint8Array {
    const { create, toBinary } = this.m.protobuf;
    const onnx = this.m.onnx;
    const model = create(onnx.ModelProtoSchema, {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: BigInt(ONNX_OPSET) }],
      producerName: 'rl-zmq',
      producerVersion: opts.producerVersion,
      docString: opts.docString,
      graph: {
        name: opts.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: opts.outputs.map((o) => ({ name: o.name, type: tensorType(o.elemType, o.dims) })),
      },
      metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    });
    return toBinary(onnx.ModelProtoSchema, model);
  }
}

function tensorType(elemType: number, dims: (number | 'batch')[]) {
  return {
    value: {
      case: 'tensorType' as const,
      value: { elemType, shape: { dim: dims.map((d) => ({ value: d === 'batch' ? { case: 'dimParam' as const, value: 'batch' } : { case: 'dimValue' as const, value: BigInt(d) } })) } },
    },
  };
}

/**
 * `rl export --format onnx`: input `obs` float32 [batch, obsSize] (a uint8 picture's values as
 * they are, 0..255: the model scales them as training did), and for a policy trained with action
 * masks the input `mask` uint8 [batch, n] (1 legal; all ones: every action); outputs `action` (int64
 * [batch] for a Discrete space, float32 [batch, actionSize] for a Box one) and `head` (float32
 * [batch, actionSize], unmasked). A recurrent policy also takes its state, `h` (and `c` for an
 * LSTM) float32 [batch, size] (zeros at an episode's first step), after `obs`, and gives the
 * next step's, `h_next` (and `c_next`): the cell as plain nodes (`cellOps`). A Discrete action is ArgMax over the legal actions (the first
 * on a tie, as the project's policy picks), a Box one Min(Max(mean, low), high), or for a
 * squashing policy (`boxActions: 'squash'`) Tanh(mean) * (high - low) / 2 + (high + low) / 2
 * (`squashScale`).
 */
export async function onnxModel(graph: PolicyGraph): Promise<Uint8Array> {
  const g = new OnnxGraph(await loadOnnxModules());
  const FLOAT = g.types.FLOAT;
  g.input('obs', FLOAT, ['batch', graph.obsSize]);
  const sink: WeightSink = (w) => g.constant(w.name, w.dims, w.data);
  const x = g.scaled('obs', graph.inputScale);
  const r = graph.recurrent;
  if (!r) g.layers(x, graph.layers, 'head', sink);
  else {
    const before = graph.layers.slice(0, r.at);
    const features = before.length > 0 ? g.layers(x, before, 'rnn/input', sink) : x;
    g.input('h', FLOAT, ['batch', r.size]);
    if (r.kind === 'lstm') g.input('c', FLOAT, ['batch', r.size]);
    const cell = cellOps(r, { x: features, h: 'h', c: 'c', hNext: 'h_next', cNext: 'c_next' });
    g.cell(cell.ops, cell.weights, sink);
    g.layers('h_next', graph.layers.slice(r.at), 'head', sink);
  }

  const a = graph.action;
  const actionSize = graph.layers[graph.layers.length - 1].kind === 'dense' ? (graph.layers[graph.layers.length - 1] as { outputs: number }).outputs : 0;
  if (a.kind === 'argmax') {
    let scores = 'head';
    if (graph.masked) {
      // A second input, required: onnxruntime's JS API feeds only inputs without a default (an
      // initializer of the same name would not be overridable there). All ones: every action legal.
      g.input('mask', g.types.UINT8, ['batch', a.n]);
      const legal = g.op('Cast', ['mask'], 'mask/legal', [g.int('to', g.types.BOOL)]);
      scores = g.op('Where', [legal, 'head', g.constant('mask/illegal', [1], Float32Array.of(-Infinity))], 'action/scores');
    }
    g.op('ArgMax', [scores], 'action', [g.int('axis', 1), g.int('keepdims', 0), g.int('select_last_index', 0)]);
  } else if (a.kind === 'squash') {
    const { half, mid } = squashScale(a);
    const tanh = g.op('Tanh', ['head'], 'action/tanh');
    const scaled = g.op('Mul', [tanh, g.constant('action/half_range', [half.length], Float32Array.from(half))], 'action/scaled');
    g.op('Add', [scaled, g.constant('action/mid', [mid.length], Float32Array.from(mid))], 'action');
  } else {
    const low = g.op('Max', ['head', g.constant('action/low', [a.low.length], a.low)], 'action/at_least_low');
    g.op('Min', [low, g.constant('action/high', [a.high.length], a.high)], 'action');
  }
  const m = graph.meta;
  return g.encode({
    name: `${m.algorithm}-${m.envId}-policy`,
    docString: `${m.algorithm} policy for ${m.envId}: obs${r ? `, ${r.kind === 'lstm' ? 'h, c' : 'h'}` : ''} -> action (greedy), head (${graph.head})${r ? `, ${r.kind === 'lstm' ? 'h_next, c_next' : 'h_next'}` : ''}`,
    producerVersion: m.packageVersion,
    outputs: [
      { name: 'action', elemType: a.kind === 'argmax' ? g.types.INT64 : FLOAT, dims: a.kind === 'argmax' ? ['batch'] : ['batch', actionSize] },
      { name: 'head', elemType: FLOAT, dims: ['batch', actionSize] },
      ...(r ? (r.kind === 'lstm' ? ['h_next', 'c_next'] : ['h_next']).map((name) => ({ name, elemType: FLOAT, dims: ['batch' as const, r.size] })) : []),
    ],
    metadata: { algorithm: m.algorithm, envId: m.envId, head: graph.head, checkpoint: m.checkpoint.path, packageVersion: m.packageVersion },
  });
}

/** [k, k, c, f] (the project's window order, ky, kx, channel) -> [f, c, k, k] (ONNX's OIHW). */
function hwioToOihw(w: Float32Array, k: number, c: number, f: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let ky = 0; ky < k; ky++) {
    for (let kx = 0; kx < k; kx++) {
      for (let ch = 0; ch < c; ch++) {
        for (let o = 0; o < f; o++) out[((o * c + ch) * k + ky) * k + kx] = w[((ky * k + kx) * c + ch) * f + o];
      }
    }
  }
  return out;
}
