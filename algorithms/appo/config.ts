import { z } from 'zod';
import { vtraceConfigShape } from '../impala/config';

/** APPO's settings (the `appo:` section of a config): IMPALA's, with PPO's clip and a target network. Defaults: RLlib's APPO. */
export const appoConfigSchema = z
  .object({
    ...vtraceConfigShape,
    clipRange: z.number().positive().default(0.4).describe("clip range of the probability ratio pi / pi_target (PPO's surrogate against the target network)"),
    targetUpdateInterval: z.number().int().positive().default(1).describe('updates between target-network updates'),
    tau: z.number().positive().max(1).default(1).describe('target update: target <- tau * network + (1 - tau) * target; 1: a copy'),
  })
  .strict()
  .describe("APPO's settings: IMPALA's V-trace targets and learner queue, PPO's clipped surrogate against a target network");

/** APPO's resolved settings. */
export type AppoConfig = z.infer<typeof appoConfigSchema>;
