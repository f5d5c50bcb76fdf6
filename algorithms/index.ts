import type { AlgorithmModule } from '../core/algorithm';
import { appo } from './appo/appo';
import { dqn } from './dqn/dqn';
import { impala } from './impala/impala';
import { ppo } from './ppo/ppo';
import { sac } from './sac/sac';

/** Every algorithm the runtime can run, by the name a config gives in `algorithm:`. */
export const algorithms: Record<string, AlgorithmModule<any>> = { ppo, dqn, sac, impala, appo };

/** The names of the algorithms this version ships: the registry before any `registerAlgorithm` (what docs/configs.md documents). */
export const shippedAlgorithms: readonly string[] = Object.freeze(Object.keys(algorithms));

/**
 * Adds an algorithm to the registry under its `name`, for configs (`algorithm: NAME`), workers
 * and checkpoints: an algorithm of your own is a module and this one line (in every process
 * that runs it: the learner's and, with workers, theirs, e.g. through `node --require`).
 */
export function registerAlgorithm(module: AlgorithmModule<any>): void {
  if (!/^[a-z][a-z0-9-]{0,63}$/.test(module.name)) throw new TypeError(`registerAlgorithm: name ${JSON.stringify(module.name)} must be lowercase letters, digits and '-', starting with a letter`);
  if (Object.hasOwn(algorithms, module.name)) throw new TypeError(`registerAlgorithm: '${module.name}' is registered already`);
  algorithms[module.name] = module;
}

/** The module named `name` (a name from a peer or a file: checked, never a prototype key), or undefined. */
export function algorithmNamed(name: string): AlgorithmModule<any> | undefined {
  return Object.hasOwn(algorithms, name) ? algorithms[name] : undefined;
}

export { ppo, Ppo, ppoConfigSchema, type PpoConfig } from './ppo/ppo';
export { computeGae } from './common/gae';
export { dqn, Dqn, dqnConfigSchema, type DqnConfig } from './dqn/dqn';
export { sac, Sac, sacConfigSchema, type SacConfig } from './sac/sac';
export { impala, Impala, impalaConfigSchema, type ImpalaConfig } from './impala/impala';
export { appo, appoConfigSchema, type AppoConfig } from './appo/appo';
export { vtrace } from './common/vtrace';
export { ReplayBuffer, SumTree } from './common/replay';
export { nStepTransitions } from './common/nstep';
