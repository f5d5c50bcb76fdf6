import type { AlgorithmModule } from '../src/algorithm';
import { dqn } from './dqn';
import { ppo } from './ppo';

/** Every algorithm the runtime can run, by the name a config gives in `algorithm:`. */
export const algorithms: Record<string, AlgorithmModule<any>> = { ppo, dqn };

export { ppo, Ppo, ppoConfigSchema, type PpoConfig } from './ppo';
export { computeGae } from './gae';
export { dqn, Dqn, dqnConfigSchema, type DqnConfig } from './dqn';
export { ReplayBuffer, SumTree } from './replay';
export { nStepTransitions } from './nstep';
