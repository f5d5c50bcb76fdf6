/**
 * The part of `rl export --format js`'s module (js.ts) that a recurrent policy adds: its cell
 * (offsets of Wx, bx, Wh, bh into the module's WEIGHTS), the state it carries, and the functions
 * that carry it. The cell's step is the learner's formula (common/recurrent-steps.ts) in plain
 * loops, float64 sums over float32 weights, as the module's dense layers are.
 */

/** The cell as the module holds it: its shape, where it sits among the LAYERS, and its weights' offsets into WEIGHTS. */
export interface ModuleCell {
  kind: 'lstm' | 'gru';
  inputs: number;
  size: number;
  /** The cell reads the output of LAYERS[0..at) (the observation itself when 0); LAYERS[at..] read its output h. */
  at: number;
  wx: number;
  bx: number;
  wh: number;
  bh: number;
}

/** The module's header lines, its CELL constant, and its exported functions (given whether `act` takes a mask). */
export function recurrentModuleCode(cell: ModuleCell): { header: string; constants: string; functions: (masked: boolean) => string } {
  const names = cell.kind === 'lstm' ? ['h', 'c'] : ['h'];
  const stateText = names.map((k) => `${k}: Float32Array(${cell.size})`).join(', ');
  const header = [
    `//   a recurrent policy (${cell.kind.toUpperCase()} of ${cell.size}): act and head use and advance the module's own state;`,
    '//   reset() zeroes it (call it when an episode starts). Or, state in hand:',
    `//   step(obs, state, mask?) -> { action, head, state }, from initialState() = { ${stateText} } of zeros`,
  ].join('\n');
  const constants = `// The ${cell.kind.toUpperCase()} cell after LAYERS[0..at): Wx, bx, Wh, bh at these offsets of WEIGHTS (gates ${cell.kind === 'lstm' ? 'i, f, g, o' : 'r, z, n'}).
const CELL = ${JSON.stringify(cell)};

/** The state a recurrent policy carries: each entry's name and size. */
export const state = ${JSON.stringify(names.map((name) => ({ name, size: cell.size })))};`;
  const functions = (masked: boolean) => `
/** The state at an episode's first step: zeros. */
export function initialState() {
  return { ${names.map((k) => `${k}: new Float32Array(${cell.size})`).join(', ')} };
}

const sigmoid = (v) => 1 / (1 + Math.exp(-v));

/** One step of the cell on its input x from state s: the next state. */
function cellStep(x, s) {
  const H = CELL.size;
  const W = ${cell.kind === 'lstm' ? 4 : 3} * H;
  const xz = new Float64Array(W);
  const hz = new Float64Array(W);
  for (let j = 0; j < W; j++) {
    let a = WEIGHTS[CELL.bx + j];
    for (let i = 0; i < CELL.inputs; i++) a += x[i] * WEIGHTS[CELL.wx + i * W + j];
    let b = WEIGHTS[CELL.bh + j];
    for (let i = 0; i < H; i++) b += s.h[i] * WEIGHTS[CELL.wh + i * W + j];
    xz[j] = a;
    hz[j] = b;
  }
  const h = new Float32Array(H);
${
  cell.kind === 'lstm'
    ? `  const c = new Float32Array(H);
  for (let j = 0; j < H; j++) {
    const i = sigmoid(xz[j] + hz[j]);
    const f = sigmoid(xz[H + j] + hz[H + j]);
    const g = Math.tanh(xz[2 * H + j] + hz[2 * H + j]);
    const o = sigmoid(xz[3 * H + j] + hz[3 * H + j]);
    c[j] = f * s.c[j] + i * g;
    h[j] = o * Math.tanh(c[j]);
  }
  return { h, c };`
    : `  for (let j = 0; j < H; j++) {
    const r = sigmoid(xz[j] + hz[j]);
    const z = sigmoid(xz[H + j] + hz[H + j]);
    const n = Math.tanh(xz[2 * H + j] + r * hz[2 * H + j]);
    h[j] = (1 - z) * n + z * s.h[j];
  }
  return { h };`
}
}

/** One step from state s (not changed): the greedy action${masked ? ' (the best legal one under mask, if given)' : ''}, the raw head and the next state. */
export function step(obs, s${masked ? ', mask' : ''}) {
  for (const { name, size } of state) {
    if (s == null || s[name] == null || s[name].length !== size) throw new RangeError(\`step: state.\${name} must hold \${size} numbers (initialState() at an episode's start)\`);
  }
  const next = cellStep(layers(0, CELL.at, input(obs)), s);
  const head = layers(CELL.at, LAYERS.length, next.h);
  return { action: choose(head${masked ? ', mask' : ''}), head, state: next };
}

let current = initialState();

/** Zeroes the module's own state: call it when an episode starts. */
export function reset() {
  current = initialState();
}

/** The raw head for one observation, from the module's own state (not advanced). */
export function head(obs) {
  return step(obs, current).head;
}

/** The greedy action for one observation${masked ? ' (with \`mask\`, the best legal one)' : ''}, from the module's own state, which it advances. */
export function act(obs${masked ? ', mask' : ''}) {
  const r = step(obs, current${masked ? ', mask' : ''});
  current = r.state;
  return r.action;
}
`;
  return { header, constants, functions };
}
