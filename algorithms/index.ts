import type { AlgorithmModule } from '../core/algorithm';
import { dqn } from './dqn/dqn';
import { ppo } from './ppo/ppo';

/** Every algorithm the runtime can run, by the name a config gives in `algorithm:`. */
export const algorithms: Record<string, AlgorithmModule<any>> = { ppo, dqn };

/** The module named `name` (a name from a peer or a file: checked, never a prototype key), or undefined. */
export function algorithmNamed(name: string): AlgorithmModule<any> | undefined {
  return Object.hasOwn(algorithms, name) ? algorithms[name] : undefined;
}

export { ppo, Ppo, ppoConfigSchema, type PpoConfig } from './ppo/ppo';
export { computeGae } from './common/gae';
export { dqn, Dqn, dqnConfigSchema, type DqnConfig } from './dqn/dqn';
export { ReplayBuffer, SumTree } from './common/replay';
export { nStepTransitions } from './common/nstep';
