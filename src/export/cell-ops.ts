import type { RecurrentSpec } from '../../core/forward';

/**
 * A recurrent cell's step as a short list of plain graph operations, stated once for the graph
 * exports (onnx.ts writes them as ONNX nodes, tfjs.ts as TensorFlow nodes): the same formula as
 * the learner's (common/recurrent-steps.ts), in float32 graph ops. Names are the graph's: `x`
 * [batch, inputs], the state `h` (and `c`) [batch, size] in, `hNext` (and `cNext`) out; the
 * weights are named under `rnn/` (Wx, bx, Wh, bh as trained).
 */
export type CellOp =
  /** out = x w + b, w [rows, cols] and b [cols] among the weights. */
  | { op: 'linear'; out: string; x: string; w: string; b: string }
  /** out = the columns [begin, begin + size) of x. */
  | { op: 'columns'; out: string; x: string; begin: number; size: number }
  | { op: 'sigmoid' | 'tanh'; out: string; x: string }
  | { op: 'add' | 'sub' | 'mul'; out: string; a: string; b: string }
  /** out = 1 - x. */
  | { op: 'oneMinus'; out: string; x: string };

/** A weight of the cell: its graph name, dims and values (row-major). */
export interface CellWeight {
  name: string;
  dims: number[];
  data: Float32Array;
}

/** The ops of one step of `cell` and the weights they name; the last ops write `hNext` (and `cNext`). */
export function cellOps(cell: RecurrentSpec, names: { x: string; h: string; c: string; hNext: string; cNext: string }): { ops: CellOp[]; weights: CellWeight[] } {
  const H = cell.size;
  const gates = cell.kind === 'lstm' ? ['i', 'f', 'g', 'o'] : ['r', 'z', 'n'];
  const width = gates.length * H;
  const weights: CellWeight[] = [
    { name: 'rnn/x/w', dims: [cell.inputs, width], data: cell.wx },
    { name: 'rnn/x/b', dims: [width], data: cell.bx },
    { name: 'rnn/h/w', dims: [H, width], data: cell.wh },
    { name: 'rnn/h/b', dims: [width], data: cell.bh },
  ];
  const ops: CellOp[] = [
    { op: 'linear', out: 'rnn/xz', x: names.x, w: 'rnn/x/w', b: 'rnn/x/b' },
    { op: 'linear', out: 'rnn/hz', x: names.h, w: 'rnn/h/w', b: 'rnn/h/b' },
  ];
  const part = (of: 'xz' | 'hz' | 'z', k: number) => {
    const out = `rnn/${of}/${gates[k]}`;
    ops.push({ op: 'columns', out, x: `rnn/${of}`, begin: k * H, size: H });
    return out;
  };
  const op = <T extends CellOp>(o: T): string => (ops.push(o), o.out);
  if (cell.kind === 'lstm') {
    op({ op: 'add', out: 'rnn/z', a: 'rnn/xz', b: 'rnn/hz' });
    const [zi, zf, zg, zo] = [0, 1, 2, 3].map((k) => part('z', k));
    const i = op({ op: 'sigmoid', out: 'rnn/i', x: zi });
    const f = op({ op: 'sigmoid', out: 'rnn/f', x: zf });
    const g = op({ op: 'tanh', out: 'rnn/g', x: zg });
    const o = op({ op: 'sigmoid', out: 'rnn/o', x: zo });
    const fc = op({ op: 'mul', out: 'rnn/f_c', a: f, b: names.c });
    const ig = op({ op: 'mul', out: 'rnn/i_g', a: i, b: g });
    op({ op: 'add', out: names.cNext, a: fc, b: ig });
    const tc = op({ op: 'tanh', out: 'rnn/tanh_c', x: names.cNext });
    op({ op: 'mul', out: names.hNext, a: o, b: tc });
    return { ops, weights };
  }
  const [ar, az, an] = [0, 1, 2].map((k) => part('xz', k));
  const [br, bz, bn] = [0, 1, 2].map((k) => part('hz', k));
  const r = op({ op: 'sigmoid', out: 'rnn/r', x: op({ op: 'add', out: 'rnn/z_r', a: ar, b: br }) });
  const z = op({ op: 'sigmoid', out: 'rnn/z', x: op({ op: 'add', out: 'rnn/z_z', a: az, b: bz }) });
  const n = op({ op: 'tanh', out: 'rnn/n', x: op({ op: 'add', out: 'rnn/z_n', a: an, b: op({ op: 'mul', out: 'rnn/r_hz_n', a: r, b: bn }) }) });
  const keep = op({ op: 'mul', out: 'rnn/z_h', a: z, b: names.h });
  const fresh = op({ op: 'mul', out: 'rnn/new_n', a: op({ op: 'oneMinus', out: 'rnn/one_minus_z', x: z }), b: n });
  op({ op: 'add', out: names.hNext, a: fresh, b: keep });
  return { ops, weights };
}
