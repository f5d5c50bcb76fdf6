import { CheckpointError } from '../../core/errors';
import { resolveCheckpoint } from '../checkpoint';
import { readPolicyGraph, type DenseSpec, type PolicyGraph } from './policy-graph';

/**
 * `rl export --format js`: one dependency-free ES module with the weights inlined (base64
 * float32, little-endian), for a web page or a game to `import`. It exports
 *
 *   act(obs)   the greedy action for ONE observation (an array of numbers, flattened):
 *              a number (Discrete) or an array of numbers (Box, clipped to the bounds)
 *   head(obs)  the raw head for one observation: logits, Gaussian mean or Q-values (Float32Array)
 *   spaces     { observation, action } as plain data
 *   metadata   what was exported, from which checkpoint
 *
 * The forward pass is a few plain loops (float32 weights, float64 sums), a uint8 picture's values
 * scaled first as in training (`inputScale`). MLP policies only: a
 * conv policy needs `--format tfjs` or `--format onnx` (a CheckpointError says so).
 */
export function jsPolicyModule(checkpointDir: string): string {
  return jsModuleSource(readPolicyGraph(resolveCheckpoint(checkpointDir))); // a run dir gives its latest checkpoint
}

export function jsModuleSource(graph: PolicyGraph): string {
  if (graph.image) {
    throw new CheckpointError(
      `${graph.meta.checkpoint.path}: the policy has conv layers (model.conv); --format js exports MLP policies only: use --format tfjs or --format onnx`,
    );
  }
  const dense = graph.layers as DenseSpec[];
  const parts: Float32Array[] = [];
  let offset = 0;
  const add = (a: Float32Array): number => {
    parts.push(a);
    offset += a.length;
    return offset - a.length;
  };
  const layers = dense.map((l) => ({ inputs: l.inputs, outputs: l.outputs, activation: l.activation, w: add(l.w), b: add(l.b) }));
  const flat = new Float32Array(offset);
  let at = 0;
  for (const p of parts) {
    flat.set(p, at);
    at += p.length;
  }
  const base64 = Buffer.from(flat.buffer, flat.byteOffset, flat.byteLength).toString('base64');
  const m = graph.meta;
  const scale = graph.inputScale;
  const scaling = scale ? `\n// What the first layer reads of a uint8 observation: (obs - low) * scale, as in training.\nconst INPUT = ${JSON.stringify({ low: Array.from(scale.low), scale: Array.from(scale.scale) })};\n` : '';
  const spaces = { observation: m.observationSpace, action: m.actionSpace };
  const actionCode =
    graph.action.kind === 'argmax'
      ? `  let best = 0;\n  for (let i = 1; i < h.length; i++) if (h[i] > h[best]) best = i;\n  return best;`
      : `  const low = spaces.action.low;\n  const high = spaces.action.high;\n  return Array.from(h, (x, i) => Math.min(high[i], Math.max(low[i], x)));`;
  return `// A ${m.algorithm} policy for ${m.envId}, exported by rl-zmq ${m.packageVersion} from ${m.checkpoint.path}
// (iteration ${m.checkpoint.iteration}, ${m.checkpoint.envSteps} env steps). No dependencies.
//   act(obs):  the greedy action for one observation (${graph.obsSize} numbers) -> ${graph.action.kind === 'argmax' ? `an integer in 0..${graph.action.n - 1}` : 'an array of numbers, clipped to the action bounds'}
//   head(obs): the ${graph.head === 'logits' ? 'logits' : graph.head === 'mean' ? 'Gaussian mean (unclipped)' : 'Q-values'} for one observation, a Float32Array

export const spaces = ${literal(spaces)};

export const metadata = ${literal({ format: 'js', ...m })};

const LAYERS = ${JSON.stringify(layers)};
${scaling}
const WEIGHTS = (() => {
  const bytes = Uint8Array.from(atob('${base64}'), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
})();

/** The raw head for one observation. */
export function head(obs) {
  if (obs == null || obs.length !== ${graph.obsSize}) {
    throw new RangeError(\`act/head: obs must hold ${graph.obsSize} numbers, got \${obs == null ? obs : obs.length}\`);
  }
  let x = ${graph.inputScale ? 'Array.from(obs, (v, i) => (v - INPUT.low[i % INPUT.low.length]) * INPUT.scale[i % INPUT.scale.length])' : 'obs'};
  for (const l of LAYERS) {
    const y = new Float32Array(l.outputs);
    for (let j = 0; j < l.outputs; j++) {
      let s = WEIGHTS[l.b + j];
      for (let i = 0; i < l.inputs; i++) s += x[i] * WEIGHTS[l.w + i * l.outputs + j];
      y[j] = l.activation === 'tanh' ? Math.tanh(s) : l.activation === 'relu' ? Math.max(0, s) : s;
    }
    x = y;
  }
  return x;
}

/** The greedy action for one observation. */
export function act(obs) {
  const h = head(obs);
${actionCode}
}
`;
}

/** A JavaScript literal of plain data: JSON, but infinite numbers written as Infinity / -Infinity. */
function literal(value: unknown): string {
  const marker = '__rl_export_nonfinite__:';
  const json = JSON.stringify(value, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? `${marker}${v}` : v));
  return json.replace(new RegExp(`"${marker}(-?Infinity|NaN)"`, 'g'), '$1');
}
