import { z } from 'zod';
import { gradientPaths } from '../common/gradient-step';

/**
 * The keys IMPALA and APPO share: V-trace's clips, the loss's weights, the optimizer, and the
 * learner queue of the `queue` schedule. Defaults: RLlib's IMPALA (lr 5e-4, rho and pg-rho
 * clipped at 1, vf 0.5, entropy 0.01, gradient clip 40, 500 steps per update, a queue of 16).
 */
export const vtraceConfigShape = {
  lr: z.number().positive().max(1).default(5e-4).describe('Adam step size'),
  lrSchedule: z.enum(['constant', 'linear']).default('constant').describe('linear: anneal lr to 0 over stop.envSteps'),
  gamma: z.number().min(0).max(1).default(0.99).describe('discount factor'),
  rhoBar: z.number().positive().default(1).describe("V-trace: clip of the importance weights pi/mu in the value targets (the paper's rho-bar)"),
  pgRhoBar: z.number().positive().default(1).describe('V-trace: clip of the importance weight pi/mu of the policy-gradient advantage'),
  cBar: z.number().positive().default(1).describe("V-trace: clip of the trace coefficients (the paper's c-bar)"),
  lambda: z.number().min(0).max(1).default(1).describe("V-trace: the paper's lambda, a factor on every trace coefficient (1: none)"),
  vfCoef: z.number().min(0).default(0.5).describe('weight of the value loss'),
  entCoef: z.number().min(0).default(0.01).describe('weight of the entropy bonus'),
  maxGradNorm: z.number().positive().default(40).describe('global gradient-norm clip'),
  trainBatchSize: z.number().int().positive().max(1 << 24).default(500).describe('env steps each update takes from the learner queue (whole batches, oldest first, at least this many)'),
  numEpochs: z.number().int().positive().max(1000).default(1).describe('passes over each update\'s steps (the targets are computed once, at its start)'),
  minibatchSize: z.number().int().positive().max(1 << 20).nullable().default(null).describe('steps per gradient step; null: all of the update\'s steps in one'),
  normalizeAdvantages: z.boolean().default(false).describe('normalise the policy-gradient advantages within each minibatch'),
  queueSize: z.number().int().positive().max(4096).default(16).describe('batches the learner queue holds before no worker is asked for more (they pause until the learner takes some)'),
  maxPolicyLag: z.number().int().min(0).default(16).describe('batches sampled by weights more policy versions older than the newest are dropped (counted in droppedBatches)'),
  broadcastEvery: z.number().int().positive().default(1).describe('updates between weight broadcasts to the workers'),
  stepsPerIteration: z.number().int().positive().max(10_000_000).default(5000).describe('env steps per iteration (one progress line, evaluation and checkpoint tick)'),
  initLogStd: z.number().default(0).describe('initial log-std of a Gaussian policy (Box actions)'),
  gradientPath: z.enum(gradientPaths).default('tape').describe("how a step differentiates the loss: tape (tfjs' autodiff) or writtenOut (the gradient written out by hand, the same numbers in fewer kernels)"),
};

/** IMPALA's settings (the `impala:` section of a config). */
export const impalaConfigSchema = z
  .object(vtraceConfigShape)
  .strict()
  .describe("IMPALA's settings: V-trace targets for the value and the policy gradient, and the learner queue the workers fill without waiting");

/** IMPALA's resolved settings. */
export type ImpalaConfig = z.infer<typeof impalaConfigSchema>;
/** What IMPALA and APPO share (`vtraceConfigShape`). */
export type VtraceConfig = ImpalaConfig;
