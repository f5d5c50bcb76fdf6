import type { AlgorithmModule } from '../../core/algorithm';
import { Impala, vtraceModuleParts } from '../impala/impala';
import { appoConfigSchema, type AppoConfig } from './config';

export { appoConfigSchema, type AppoConfig };

/**
 * APPO, as RLlib's: IMPALA's learner queue and V-trace targets, with PPO's clipped surrogate
 * taken against a target network (V-trace's target policy too) that follows the network every
 * `targetUpdateInterval` updates. The learner is IMPALA's with that surrogate (`Impala`,
 * algorithms/impala/impala.ts, states both losses).
 */
export const appo: AlgorithmModule<AppoConfig> = {
  name: 'appo',
  configSchema: appoConfigSchema,
  create: (opts) => new Impala('appo', opts, { clipRange: opts.config.clipRange, targetUpdateInterval: opts.config.targetUpdateInterval, tau: opts.config.tau }),
  ...vtraceModuleParts('appo'),
};
