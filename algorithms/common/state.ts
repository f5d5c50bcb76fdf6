import type { AlgorithmState, NamedTensor, Weights } from '../../core/algorithm';
import type { ActionColumn, ReplayBuffer } from './replay';

/**
 * The pieces of an algorithm's saved state beside its policy's weights (which `weightsToState`
 * files under `weights/<policyId>/`): other networks' weights under a prefix of their own
 * (`target/`, `critic/`), and the replay buffer when the config keeps it.
 */

/** A network's weights as state tensors under `prefix` (`target/q/0/w`). */
export function weightsUnder(prefix: string, weights: Weights): NamedTensor[] {
  return weights.map((w) => ({ ...w, name: `${prefix}${w.name}` }));
}

/** The weights `weightsUnder(prefix, ...)` saved, under their own names again. */
export function weightsFrom(prefix: string, tensors: NamedTensor[]): Weights {
  return tensors.filter((t) => t.name.startsWith(prefix)).map((t) => ({ ...t, name: t.name.slice(prefix.length) }));
}

/** Adds the replay buffer to a state being saved (its tensors, and its counters as `json.replay`). */
export function addReplay(state: AlgorithmState, buffer: ReplayBuffer<ActionColumn>): AlgorithmState {
  const replay = buffer.toState();
  state.json.replay = replay.json;
  state.tensors.push(...replay.tensors);
  return state;
}
