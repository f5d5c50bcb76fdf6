import { z } from 'zod';
import { gradientPaths } from '../common/gradient-step';

/** PPO's settings (the `ppo:` section of a config). */
export const ppoConfigSchema = z
  .object({
    lr: z.number().positive().max(1).default(3e-4).describe('Adam step size'),
    lrSchedule: z.enum(['constant', 'linear']).default('constant').describe('linear: anneal lr to 0 over stop.envSteps'),
    gamma: z.number().min(0).max(1).default(0.99).describe('discount factor'),
    gaeLambda: z.number().min(0).max(1).default(0.95).describe('GAE lambda: bias/variance trade-off of advantages'),
    clipRange: z.number().positive().default(0.2).describe('clip range of the probability ratio'),
    clipRangeVf: z.number().positive().nullable().default(null).describe('clip range of value updates; null: no clipping'),
    entCoef: z.number().min(0).default(0).describe('weight of the entropy bonus'),
    vfCoef: z.number().min(0).default(0.5).describe('weight of the value loss'),
    maxGradNorm: z.number().positive().default(0.5).describe('global gradient-norm clip'),
    numEpochs: z.number().int().positive().max(1000).default(10).describe('passes over each train batch'),
    minibatchSize: z.number().int().positive().max(1 << 20).default(256).describe('steps per gradient step'),
    trainBatchSize: z.number().int().positive().max(1 << 24).nullable().default(null).describe('steps per update; null: all envs x rolloutLength'),
    normalizeAdvantages: z.boolean().default(true).describe('normalise advantages within each minibatch'),
    initLogStd: z.number().default(0).describe('initial log-std of a Gaussian policy (Box actions)'),
    maxPolicyLag: z.number().int().min(0).default(0).describe('drop batches sampled by weights older than this many versions'),
    sequenceLength: z.number().int().positive().max(1024).default(16).describe('with model.recurrent: steps per training sequence; each env\'s rows are cut every sequenceLength steps (the state reset where an episode starts inside one; a batch\'s last, shorter sequence padded), and minibatches are whole sequences (about minibatchSize / sequenceLength of them)'),
    gradientPath: z.enum(gradientPaths).default('tape').describe("how a step differentiates the loss: tape (tfjs' autodiff) or writtenOut (the gradient written out by hand, the same numbers in fewer kernels; conv layers included)"),
  })
  .strict()
  .describe("PPO's settings: clipped surrogate objective, GAE advantages, epochs of minibatches over each train batch");

export type PpoConfig = z.infer<typeof ppoConfigSchema>;
