import type { NamedTensor } from '../../core/algorithm';
import { BadCheckpointError } from '../../core/errors';

/** The policy's weights in a saved state (core/algorithm.ts `weightsToState`). */
const WEIGHTS = 'weights/';

/**
 * Refuses a checkpoint whose tensors are not those of the model it resumes into (`expected`:
 * the fresh model's `getState()` tensors). The policy's weights must match one for one, by
 * name and exact shape: a transposed matrix has the right number of values and would load
 * silently. Any other tensor both hold must have the same shape where it has the same size (a
 * size that differs is the algorithm's to explain: a replay buffer of another `bufferSize`).
 * Tensors only one side holds beyond the weights are the algorithm's business too (a fresh
 * optimizer has no moments yet; a replay buffer saved or not).
 */
export function checkTensorsFit(dir: string, algorithm: string, expected: readonly NamedTensor[], tensors: readonly NamedTensor[]): void {
  const saved = new Map(tensors.map((t) => [t.name, t]));
  const model = new Set(expected.map((t) => t.name));
  for (const e of expected) {
    const t = saved.get(e.name);
    if (!t) {
      if (e.name.startsWith(WEIGHTS)) throw new BadCheckpointError(`${dir}: checkpoint of another kind (it holds no ${e.name} [${e.shape.join(', ')}], which a ${algorithm} model of its config has)`);
      continue;
    }
    const sameSize = t.data.length === size(e.shape);
    const sameShape = t.shape.length === e.shape.length && t.shape.every((d, i) => d === e.shape[i]);
    if (!sameShape && (sameSize || e.name.startsWith(WEIGHTS))) {
      throw new BadCheckpointError(`${dir}: damaged checkpoint (${e.name} has the shape [${t.shape.join(', ')}]; the ${algorithm} model of its config needs [${e.shape.join(', ')}])`);
    }
  }
  const stray = tensors.find((t) => t.name.startsWith(WEIGHTS) && !model.has(t.name));
  if (stray) throw new BadCheckpointError(`${dir}: checkpoint of another kind (${stray.name} is no weight of a ${algorithm} model of its config)`);
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
