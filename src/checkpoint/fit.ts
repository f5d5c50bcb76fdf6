import type { NamedTensor } from '../../core/algorithm';
import { BadCheckpointError } from '../../core/errors';

/**
 * Refuses a checkpoint whose tensors are not those of the model it resumes into: every tensor
 * of the fresh model's state (`expected`, from `getState()`) is there, of exactly its shape (a
 * transposed matrix has the right number of values and would load silently), and no policy
 * weight (`weights/...`) is there that the model lacks. The optimizer's tensors are left out:
 * a fresh optimizer makes its moments at its first step, so it has none to compare.
 */
export function checkTensorsFit(dir: string, algorithm: string, expected: readonly NamedTensor[], tensors: readonly NamedTensor[]): void {
  const saved = new Map(tensors.map((t) => [t.name, t]));
  const model = new Set(expected.map((t) => t.name));
  for (const e of expected) {
    if (e.name.startsWith('optimizer/')) continue;
    const t = saved.get(e.name);
    if (!t) throw new BadCheckpointError(`${dir}: checkpoint of another kind (it holds no ${e.name} [${e.shape.join(', ')}], which a ${algorithm} model of its config has)`);
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      throw new BadCheckpointError(`${dir}: damaged checkpoint (${e.name} has the shape [${t.shape.join(', ')}]; the ${algorithm} model of its config needs [${e.shape.join(', ')}])`);
    }
  }
  const stray = tensors.find((t) => t.name.startsWith('weights/') && !model.has(t.name));
  if (stray) throw new BadCheckpointError(`${dir}: checkpoint of another kind (${stray.name} is no weight of a ${algorithm} model of its config)`);
}
