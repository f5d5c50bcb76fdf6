import type { TensorShape, Weights } from '../../core/algorithm';

/**
 * Why `weights` do not fit a policy whose tensors are `expected` (the algorithm's
 * `weightShapes(spec)`), or undefined when they do: every tensor present with exactly its
 * shape, none more, every value finite. Checked before weights from a learner touch a model.
 */
export function weightsMismatch(expected: TensorShape[], weights: Weights | undefined): string | undefined {
  if (!weights) return 'no weights for the policy';
  const byName = new Map(weights.map((w) => [w.name, w]));
  for (const e of expected) {
    const w = byName.get(e.name);
    if (!w) return `${e.name} is missing`;
    if (w.shape.length !== e.shape.length || w.shape.some((d, i) => d !== e.shape[i])) return `${e.name} is [${w.shape}], the model needs [${e.shape}]`;
    const bad = w.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) return `${e.name}[${bad}] is ${w.data[bad]}`;
    byName.delete(e.name);
  }
  const extra = byName.keys().next();
  return extra.done ? undefined : `${extra.value} is not a tensor of the model`;
}
