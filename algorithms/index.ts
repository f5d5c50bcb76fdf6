import type { AlgorithmModule } from '../src/algorithm';
import { ppo } from './ppo';

/** Every algorithm the runtime can run, by the name a config gives in `algorithm:`. */
export const algorithms: Record<string, AlgorithmModule<any>> = { ppo };

export { ppo, Ppo, ppoConfigSchema, type PpoConfig } from './ppo';
export { computeGae } from './gae';
