import type { PolicyGraph } from './policy-graph';

/**
 * `rl export --format onnx`: a standard ONNX model (opset 17, IR version 8), encoded with
 * `@bufbuild/protobuf` from ONNX's own onnx.proto as the `onnx-buf` package compiles it.
 * Input `obs` float32 [batch, obsSize]; outputs `action` (int64 [batch] for a Discrete space,
 * float32 [batch, actionSize] for a Box one) and `head` (float32 [batch, actionSize]).
 *
 * Dense layers are Gemm; conv layers are Conv on NCHW (the flat NHWC observation is reshaped
 * and transposed first, and back before the MLP), with the explicit padding TensorFlow's
 * 'same' gives. A Discrete action is ArgMax (the first on a tie, as the project's policy picks),
 * a Box one Min(Max(mean, low), high).
 */
export const ONNX_OPSET = 17;
const IR_VERSION = 8n;

export async function onnxModel(graph: PolicyGraph): Promise<Uint8Array> {
  // Both packages are ES modules only; this project compiles to CommonJS.
  const { create, toBinary } = await import('@bufbuild/protobuf');
  const onnx = await import('onnx-buf');
  const { AttributeProto_AttributeType: Attr, TensorProto_DataType: DataType } = onnx;
  type Node = NonNullable<Parameters<typeof create<typeof onnx.NodeProtoSchema>>[1]>;
  type Attribute = NonNullable<Node['attribute']>[number];

  const nodes: Node[] = [];
  const initializers: NonNullable<Parameters<typeof create<typeof onnx.TensorProtoSchema>>[1]>[] = [];
  const constant = (name: string, dims: number[], data: Float32Array | BigInt64Array): string => {
    const type = data instanceof BigInt64Array ? DataType.INT64 : DataType.FLOAT;
    initializers.push({ name, dims: dims.map(BigInt), dataType: type, rawData: new Uint8Array(data.slice().buffer as ArrayBuffer) });
    return name;
  };
  const op = (opType: string, input: string[], output: string, attribute: Attribute[] = []): string => {
    nodes.push({ opType, input, output: [output], name: output, attribute });
    return output;
  };
  const intAttr = (name: string, i: number): Attribute => ({ name, type: Attr.INT, i: BigInt(i) });
  const intsAttr = (name: string, ints: number[]): Attribute => ({ name, type: Attr.INTS, ints: ints.map(BigInt) });

  let x = 'obs';
  let lastConv: [number, number, number] | null = null;
  graph.layers.forEach((l, i) => {
    if (l.kind === 'conv') {
      if (i === 0) {
        const image = op('Reshape', [x, constant('conv/image/shape', [4], BigInt64Array.of(-1n, ...l.input.map(BigInt)))], 'conv/image');
        x = op('Transpose', [image], 'conv/nchw', [intsAttr('perm', [0, 3, 1, 2])]);
      }
      const [k, c, f] = [l.kernel, l.input[2], l.output[2]];
      x = op('Conv', [x, constant(`conv/${i}/w`, [f, c, k, k], hwioToOihw(l.w, k, c, f)), constant(`conv/${i}/b`, [f], l.b)], `conv/${i}/conv`, [
        intsAttr('kernel_shape', [k, k]),
        intsAttr('strides', [l.stride, l.stride]),
        intsAttr('pads', [l.pads.top, l.pads.left, l.pads.bottom, l.pads.right]),
      ]);
      x = op('Relu', [x], `conv/${i}/relu`);
      lastConv = l.output;
      return;
    }
    if (lastConv) {
      const nhwc = op('Transpose', [x], 'conv/nhwc', [intsAttr('perm', [0, 2, 3, 1])]);
      x = op('Reshape', [nhwc, constant('conv/flatten/shape', [2], BigInt64Array.of(-1n, BigInt(lastConv[0] * lastConv[1] * lastConv[2])))], 'conv/flatten');
      lastConv = null;
    }
    const last = i === graph.layers.length - 1;
    const name = last ? 'head' : `dense/${i}`;
    const y = op('Gemm', [x, constant(`${name}/w`, [l.inputs, l.outputs], l.w), constant(`${name}/b`, [l.outputs], l.b)], last || l.activation === 'linear' ? name : `${name}/gemm`);
    x = l.activation === 'linear' || last ? y : op(l.activation === 'tanh' ? 'Tanh' : 'Relu', [y], name);
  });

  const a = graph.action;
  const actionSize = graph.layers[graph.layers.length - 1].kind === 'dense' ? (graph.layers[graph.layers.length - 1] as { outputs: number }).outputs : 0;
  if (a.kind === 'argmax') {
    op('ArgMax', ['head'], 'action', [intAttr('axis', 1), intAttr('keepdims', 0), intAttr('select_last_index', 0)]);
  } else {
    const low = op('Max', ['head', constant('action/low', [a.low.length], a.low)], 'action/at_least_low');
    op('Min', [low, constant('action/high', [a.high.length], a.high)], 'action');
  }

  const tensorType = (elemType: number, dims: (number | 'batch')[]) => ({
    value: {
      case: 'tensorType' as const,
      value: { elemType, shape: { dim: dims.map((d) => ({ value: d === 'batch' ? { case: 'dimParam' as const, value: 'batch' } : { case: 'dimValue' as const, value: BigInt(d) } })) } },
    },
  });
  const m = graph.meta;
  const model = create(onnx.ModelProtoSchema, {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: BigInt(ONNX_OPSET) }],
    producerName: 'rl-zmq',
    producerVersion: m.packageVersion,
    docString: `${m.algorithm} policy for ${m.envId}: obs -> action (greedy), head (${graph.head})`,
    graph: {
      name: `${m.algorithm}-${m.envId}-policy`,
      node: nodes,
      initializer: initializers,
      input: [{ name: 'obs', type: tensorType(DataType.FLOAT, ['batch', graph.obsSize]) }],
      output: [
        { name: 'action', type: a.kind === 'argmax' ? tensorType(DataType.INT64, ['batch']) : tensorType(DataType.FLOAT, ['batch', actionSize]) },
        { name: 'head', type: tensorType(DataType.FLOAT, ['batch', actionSize]) },
      ],
    },
    metadataProps: [
      { key: 'algorithm', value: m.algorithm },
      { key: 'envId', value: m.envId },
      { key: 'head', value: graph.head },
      { key: 'checkpoint', value: m.checkpoint.path },
      { key: 'packageVersion', value: m.packageVersion },
    ],
  });
  return toBinary(onnx.ModelProtoSchema, model);
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
