import type { Observation } from '../../core/algorithm';
import { netOutputs, type Forward, type ForwardEngine, type ForwardNet } from '../../core/forward';
import { loadOnnxModules, OnnxGraph, onnxWeights, type OnnxModules, type OnnxWeight } from '../export/onnx';
import { PACKAGE_VERSION } from '../version';

/**
 * The `onnx` inference engine: a policy's forward pass on onnxruntime-node's CPU build, one
 * session per network, one thread (a worker process is one of many on a machine).
 *
 * Weights are graph inputs, not initializers: a broadcast wraps the new arrays as tensors
 * (conv filters re-laid as OIHW) and the next run feeds them; the session is never rebuilt.
 * Measured with `node dist/bench/run.js sampling`: see the README's figures.
 *
 * `act()` is synchronous, and onnxruntime's public `InferenceSession.run` returns a promise
 * (it runs the native call in a `setImmediate`); the package's native binding, which its own
 * typings describe as "a simple synchronized inference session", is called directly. Its
 * version is pinned in package.json; a change to that binding fails test/onnx-inference.test.ts.
 */

type Binding = typeof import('onnxruntime-node/dist/binding');
type Session = InstanceType<Binding['binding']['InferenceSession']>;
type OrtTensor = import('onnxruntime-common').Tensor;
type TensorCtor = typeof import('onnxruntime-common').Tensor;

interface Ort {
  binding: Binding;
  Tensor: TensorCtor;
}

/** Loads onnxruntime-node and the ONNX encoder; null (with why) where onnxruntime-node is not installed or does not load here. */
export async function loadOnnxEngine(): Promise<{ engine: ForwardEngine } | { engine: null; why: string }> {
  let ort: Ort;
  try {
    ort = { binding: require('onnxruntime-node/dist/binding') as Binding, Tensor: (require('onnxruntime-common') as typeof import('onnxruntime-common')).Tensor };
    ort.binding.initOrt();
  } catch (err) {
    return { engine: null, why: `onnxruntime-node does not load (${(err as Error).message.split('\n')[0]})` };
  }
  return { engine: new OnnxEngine(ort, await loadOnnxModules()) };
}

class OnnxEngine implements ForwardEngine {
  readonly name = 'onnx';

  constructor(
    private readonly ort: Ort,
    private readonly modules: OnnxModules,
  ) {}

  unsupported(net: ForwardNet): string | null {
    if (net.towers.length === 0 || net.towers.some((t) => t.length === 0)) return 'the network has an empty tower';
    return null;
  }

  create(net: ForwardNet): Forward {
    const why = this.unsupported(net);
    if (why) throw new TypeError(`onnx inference: ${why}`);
    return new OnnxForward(this.ort, this.modules, net);
  }
}

/** Each weight of `net` as the graph names it and takes it (ONNX's layout), trunk first, then tower by tower. */
function netWeights(net: ForwardNet): OnnxWeight[] {
  return [...onnxWeights(net.trunk, 'trunk/out', 'trunk/'), ...net.towers.flatMap((t, k) => onnxWeights(t, towerOut(net, k), `tower${k}/`))];
}

const towerOut = (net: ForwardNet, k: number) => (net.towers.length === 1 ? 'out' : `tower${k}/out`);

class OnnxForward implements Forward {
  private readonly session: Session;
  private readonly feeds: Record<string, OrtTensor> = {};
  private readonly fetches: Record<string, null> = { out: null };
  private readonly names: string[];

  constructor(
    private readonly ort: Ort,
    modules: OnnxModules,
    private readonly net: ForwardNet,
  ) {
    const g = new OnnxGraph(modules);
    const T = g.types;
    const weight = (w: OnnxWeight) => g.input(w.name, T.FLOAT, w.dims);
    let x = g.input('obs', net.obsDtype === 'uint8' ? T.UINT8 : T.FLOAT, ['batch', net.obsSize]);
    if (net.obsDtype === 'uint8') x = g.op('Cast', [x], 'obs/float', [g.int('to', T.FLOAT)]);
    x = g.scaled(x, net.inputScale);
    if (net.trunk.length > 0) x = g.layers(x, net.trunk, 'trunk/out', weight, 'trunk/');
    const outs = net.towers.map((t, k) => g.layers(x, t, towerOut(net, k), weight, `tower${k}/`));
    if (outs.length > 1) g.op('Concat', outs, 'out', [g.int('axis', 1)]);
    const bytes = g.encode({ name: 'policy-forward', docString: 'obs -> out: a policy forward pass, weights as inputs', producerVersion: PACKAGE_VERSION, outputs: [{ name: 'out', elemType: T.FLOAT, dims: ['batch', netOutputs(net)] }] });
    this.session = new ort.binding.binding.InferenceSession();
    this.session.loadModel(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    this.names = netWeights(net).map((w) => w.name);
    this.setWeights(net);
  }

  run(obs: Observation, rows: number): Float32Array {
    this.feeds.obs = new this.ort.Tensor(obs instanceof Uint8Array ? 'uint8' : 'float32', obs, [rows, this.net.obsSize]);
    const out = this.session.run(this.feeds, this.fetches, {}).out as OrtTensor;
    return out.data as Float32Array;
  }

  setWeights(net: ForwardNet): void {
    const ws = netWeights(net);
    if (ws.length !== this.names.length || ws.some((w, i) => w.name !== this.names[i])) throw new RangeError(`onnx inference: new weights ${ws.map((w) => w.name)}, the session takes ${this.names}`);
    for (const w of ws) this.feeds[w.name] = new this.ort.Tensor('float32', w.data, w.dims);
  }

  dispose(): void {
    this.session.dispose();
  }
}
