import { squashScale } from '../../envs/stepper';
import { resolveCheckpoint } from '../checkpoint';
import { recurrentModuleCode } from './js-recurrent';
import { readPolicyGraph, type PolicyGraph } from './policy-graph';

/**
 * `rl export --format js`: one dependency-free ES module with the weights inlined (base64
 * float32, little-endian), for a web page or a game to `import`. It exports
 *
 *   act(obs)   the greedy action for ONE observation (an array of numbers, flattened):
 *              a number (Discrete) or an array of numbers (Box: clipped to the bounds, or
 *              for a squashing policy (`boxActions: 'squash'`) tanh of the mean scaled to them);
 *              act(obs, mask) for Discrete actions: the best legal one (mask: n numbers,
 *              1 or true legal, as the env's actionMask() gives them)
 *   head(obs)  the raw head for one observation: logits, Gaussian mean or Q-values (Float32Array)
 *   spaces     { observation, action } as plain data
 *   metadata   what was exported, from which checkpoint
 *
 * The forward pass is a few plain loops (float32 weights, float64 sums): conv layers (NHWC,
 * zero padding as TensorFlow pads 'same', relu) then dense ones. An observation may be any
 * array of numbers, a uint8 picture (`Uint8Array`) as the env gives it included; its values
 * are scaled first as in training (`inputScale`).
 *
 * A recurrent policy's module carries a state from step to step (js-recurrent.ts): `step(obs,
 * state, mask)` gives the action, the head and the next state; `initialState()` the zeros an
 * episode starts from; `act` and `head` use and advance the module's own state, which `reset()`
 * zeroes (call it when an episode starts).
 */
export function jsPolicyModule(checkpointDir: string, policyId?: string): string {
  return jsModuleSource(readPolicyGraph(resolveCheckpoint(checkpointDir), policyId)); // a run dir gives its latest checkpoint
}

export function jsModuleSource(graph: PolicyGraph): string {
  const parts: Float32Array[] = [];
  let offset = 0;
  const add = (a: Float32Array): number => {
    parts.push(a);
    offset += a.length;
    return offset - a.length;
  };
  const r = graph.recurrent;
  const cell = r && { kind: r.kind, inputs: r.inputs, size: r.size, at: r.at, wx: add(r.wx), bx: add(r.bx), wh: add(r.wh), bh: add(r.bh) };
  const layers = graph.layers.map((l) =>
    l.kind === 'conv'
      ? { kind: l.kind, input: l.input, output: l.output, kernel: l.kernel, stride: l.stride, top: l.pads.top, left: l.pads.left, w: add(l.w), b: add(l.b) }
      : { kind: l.kind, inputs: l.inputs, outputs: l.outputs, activation: l.activation, w: add(l.w), b: add(l.b) },
  );
  const flat = new Float32Array(offset);
  let at = 0;
  for (const p of parts) {
    flat.set(p, at);
    at += p.length;
  }
  const base64 = Buffer.from(flat.buffer, flat.byteOffset, flat.byteLength).toString('base64');
  const m = graph.meta;
  const scale = graph.inputScale;
  const squash = graph.action.kind === 'squash' ? squashScale(graph.action) : null;
  const squashing = squash ? `\n// The squashed action, tanh(head) * half + mid: tanh's (-1, 1) mapped onto the action bounds.\nconst SQUASH = ${JSON.stringify({ half: Array.from(squash.half), mid: Array.from(squash.mid) })};\n` : '';
  const scaling = scale ? `\n// What the first layer reads of a uint8 observation: (obs - low) * scale, as in training.\nconst INPUT = ${JSON.stringify({ low: Array.from(scale.low), scale: Array.from(scale.scale) })};\n` : '';
  const spaces = { observation: m.observationSpace, action: m.actionSpace };
  const n = graph.action.kind === 'argmax' ? graph.action.n : 0;
  const actionCode = {
    argmax: [
      `  if (mask != null && mask.length !== ${n}) throw new RangeError(\`act: mask must hold ${n} numbers (1 legal, 0 illegal), got \${mask.length}\`);`,
      '  let best = -1;',
      '  for (let i = 0; i < h.length; i++) if ((mask == null || mask[i]) && (best < 0 || h[i] > h[best])) best = i;',
      "  if (best < 0) throw new RangeError('act: the mask allows no action');",
      '  return best;',
    ].join('\n'),
    clip: `  const low = spaces.action.low;\n  const high = spaces.action.high;\n  return Array.from(h, (x, i) => Math.min(high[i], Math.max(low[i], x)));`,
    // As rl evaluate squashes (envActions: tanh(x) * half + mid), in float64 from the float32 head, with squashScale's constants.
    squash: `  return Array.from(h, (x, i) => Math.fround(Math.tanh(x) * SQUASH.half[i] + SQUASH.mid[i]));`,
  }[graph.action.kind];
  const a = graph.action;
  const actionText = a.kind === 'argmax' ? `an integer in 0..${a.n - 1}` : a.kind === 'clip' ? 'an array of numbers, clipped to the action bounds' : 'an array of numbers, tanh of the mean scaled to the action bounds';
  const headText = graph.head === 'logits' ? 'logits' : graph.head === 'mean' ? (graph.action.kind === 'squash' ? 'Gaussian mean (before tanh)' : 'Gaussian mean (unclipped)') : 'Q-values';
  const recurrent = cell ? recurrentModuleCode(cell) : null;
  return `// A ${m.algorithm} policy for ${m.envId}, exported by rl-zmq ${m.packageVersion} from ${m.checkpoint.path}
// (iteration ${m.checkpoint.iteration}, ${m.checkpoint.envSteps} env steps). No dependencies.
//   act(obs${n ? ', mask' : ''}):  the greedy action for one observation (${graph.obsSize} numbers${graph.image ? `, (h, w, c) = (${graph.image.join(', ')}) flattened row-major` : ''}) -> ${actionText}${n ? `\n//              mask (optional): ${n} numbers, 1 for a legal action (the env's actionMask()); the best legal action is chosen` : ''}
//   head(obs): the ${headText} for one observation, a Float32Array${recurrent ? `\n${recurrent.header}` : ''}

export const spaces = ${literal(spaces)};

export const metadata = ${literal({ format: 'js', ...m })};

const LAYERS = ${JSON.stringify(layers)};
${recurrent ? `${recurrent.constants}\n` : ''}${scaling}${squashing}
const WEIGHTS = (() => {
  const bytes = Uint8Array.from(atob('${base64}'), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
})();

/** A conv layer, relu after it: (h, w, c) in, (oh, ow, f) out, both flattened row-major; the filter HWIO. */
function conv(l, x) {
  const [h, w, c] = l.input;
  const [oh, ow, f] = l.output;
  const y = new Float32Array(oh * ow * f);
  const s = new Float64Array(f);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let o = 0; o < f; o++) s[o] = WEIGHTS[l.b + o];
      for (let ky = 0; ky < l.kernel; ky++) {
        const iy = oy * l.stride - l.top + ky;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < l.kernel; kx++) {
          const ix = ox * l.stride - l.left + kx;
          if (ix < 0 || ix >= w) continue;
          for (let i = 0; i < c; i++) {
            const v = x[(iy * w + ix) * c + i];
            if (v === 0) continue; // most pixels of a game screen are empty
            const at = l.w + ((ky * l.kernel + kx) * c + i) * f;
            for (let o = 0; o < f; o++) s[o] += v * WEIGHTS[at + o];
          }
        }
      }
      for (let o = 0; o < f; o++) y[(oy * ow + ox) * f + o] = Math.max(0, s[o]);
    }
  }
  return y;
}

/** The observation as the first layer reads it, checked. */
function input(obs) {
  if (obs == null || obs.length !== ${graph.obsSize}) {
    throw new RangeError(\`act/head: obs must hold ${graph.obsSize} numbers, got \${obs == null ? obs : obs.length}\`);
  }
  return ${graph.inputScale ? 'Float32Array.from(obs, (v, i) => (v - INPUT.low[i % INPUT.low.length]) * INPUT.scale[i % INPUT.scale.length])' : 'obs'};
}

/** LAYERS[from] up to (not including) LAYERS[to] on x. */
function layers(from, to, x) {
  for (let k = from; k < to; k++) {
    const l = LAYERS[k];
    if (l.kind === 'conv') {
      x = conv(l, x);
      continue;
    }
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

/** The greedy action from a head${n ? ' (and the mask)' : ''}. */
function choose(h${n ? ', mask' : ''}) {
${actionCode}
}
${
  recurrent
    ? recurrent.functions(n > 0)
    : `
/** The raw head for one observation. */
export function head(obs) {
  return layers(0, LAYERS.length, input(obs));
}

/** The greedy action for one observation${n ? '; with \`mask\` (${n} numbers, 1 or true for a legal action; left out: all legal), the best legal one' : ''}. */
export function act(obs${n ? ', mask' : ''}) {
  return choose(head(obs)${n ? ', mask' : ''});
}
`
}`;
}

/** A JavaScript literal of plain data: JSON, but infinite numbers written as Infinity / -Infinity. */
function literal(value: unknown): string {
  const marker = '__rl_export_nonfinite__:';
  const json = JSON.stringify(value, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? `${marker}${v}` : v));
  return json.replace(new RegExp(`"${marker}(-?Infinity|NaN)"`, 'g'), '$1');
}
