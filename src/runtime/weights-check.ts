import type { TensorShape, Weights } from '../../core/algorithm';

/** One tensor a policy has: what `AlgorithmModule.weightShapes` lists. */
export type WeightShape = TensorShape;

/**
 * Checked before weights from a learner (in a worker) or a checkpoint (`rl evaluate`) touch a model.
 * Why weights cannot go into a policy: `mismatch`, they are another model's (names or shapes),
 * which no later message fixes; `nonFinite`, a value is NaN or infinite (this message is bad,
 * the next may be fine).
 */
export interface WeightsProblem {
  kind: 'mismatch' | 'nonFinite';
  message: string;
}

/** At most this many names are listed in a message. */
const LISTED = 3;

/**
 * Whether `weights` are exactly the tensors of `expected`: the same names (in any order), each
 * with the same shape and as many values, all finite. Null when they are; otherwise the first
 * problem, naming the tensor, what it is and what the policy needs.
 */
export function weightsProblem(expected: readonly WeightShape[], weights: Weights): WeightsProblem | null {
  const wanted = new Map(expected.map((e) => [e.name, e.shape]));
  const got = new Set(weights.map((w) => w.name));
  const missing = expected.filter((e) => !got.has(e.name)).map((e) => e.name);
  if (missing.length > 0) return mismatch(`${list(missing)} ${missing.length === 1 ? 'is' : 'are'} missing`);
  const extra = weights.filter((w) => !wanted.has(w.name)).map((w) => w.name);
  if (extra.length > 0) return mismatch(`${list(extra)} ${extra.length === 1 ? 'is' : 'are'} not in this policy`);
  if (weights.length !== expected.length) return mismatch(`${weights.length} tensors for the policy's ${expected.length} (a name repeats)`);
  for (const w of weights) {
    const shape = wanted.get(w.name)!;
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) return mismatch(`${w.name} is [${w.shape.join(', ')}], the policy's is [${shape.join(', ')}]`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (w.data.length !== size) return mismatch(`${w.name} has ${w.data.length} values for its shape [${shape.join(', ')}] (${size})`);
  }
  for (const w of weights) {
    const bad = w.data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) return { kind: 'nonFinite', message: `${w.name}[${bad}] is ${w.data[bad]}` };
  }
  return null;
}

function mismatch(message: string): WeightsProblem {
  return { kind: 'mismatch', message };
}

function list(names: string[]): string {
  const shown = names.slice(0, LISTED).join(', ');
  return names.length > LISTED ? `${shown} and ${names.length - LISTED} more` : shown;
}
