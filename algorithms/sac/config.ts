import { z } from 'zod';
import { squashedGaussian } from '../common/distributions';

/** SAC's settings (the `sac:` section of a config). Defaults: CleanRL's step sizes (3e-4 actor, 1e-3 critic and temperature), Stable-Baselines3's for the rest but learningStarts (1000, between SB3's 100 and CleanRL's 5000). */
export const sacConfigSchema = z
  .object({
    actorLr: z.number().positive().max(1).default(3e-4).describe("Adam step size of the actor (the policy)"),
    criticLr: z.number().positive().max(1).default(1e-3).describe('Adam step size of the twin Q-networks'),
    alphaLr: z.number().positive().max(1).default(1e-3).describe('Adam step size of log(alpha), the learned temperature (learnAlpha)'),
    gamma: z.number().min(0).max(1).default(0.99).describe('discount factor'),
    tau: z.number().positive().max(1).default(0.005).describe('target networks: target <- tau * critic + (1 - tau) * target at each target update (Polyak averaging)'),
    targetUpdateInterval: z.number().int().positive().default(1).describe('gradient steps between target-network updates'),
    batchSize: z.number().int().positive().max(65_536).default(256).describe('transitions per gradient step'),
    bufferSize: z.number().int().positive().max(10_000_000).default(1_000_000).describe('replay buffer capacity, in transitions'),
    learningStarts: z.number().int().min(0).default(1000).describe('env steps (over the run) before the first gradient step; until then the workers act uniformly at random over the action Box'),
    gradientSteps: z.number().positive().max(1000).default(1).describe('gradient steps per env step received (the update-to-data ratio; 0.25: one every 4 env steps)'),
    alpha: z.number().positive().default(1).describe('entropy temperature: its starting value with learnAlpha, else its fixed value'),
    learnAlpha: z.boolean().default(true).describe('learn the temperature so that the policy entropy tracks targetEntropy (Haarnoja et al. 2018, section 5)'),
    targetEntropy: z.number().nullable().default(null).describe("the entropy the learned temperature aims at, in nats of the squashed action; null: -(action dimensions)"),
    initLogStd: z
      .number()
      .gt(squashedGaussian.LOG_STD_MIN)
      .lt(squashedGaussian.LOG_STD_MAX)
      .default(0)
      .describe(`the policy's log standard deviation (before tanh) at the start, for every state; the learned one stays within (${squashedGaussian.LOG_STD_MIN}, ${squashedGaussian.LOG_STD_MAX})`),
    noiseRepeat: z
      .number()
      .int()
      .positive()
      .max(100_000)
      .default(1)
      .describe("steps each env holds its exploration draw (the Gaussian noise; warm-up's uniform action) before a new one, and anew at each episode's start: > 1 explores with actions correlated in time, where gSDE's resampling interval would (MountainCarContinuous); 1: a fresh draw every step (SAC's own)"),
    maxGradNorm: z.number().positive().nullable().default(null).describe('global gradient-norm clip of each of actor, twin critic (one norm over both Q-networks) and temperature; null: none (as SB3 and CleanRL)'),
    weightSyncInterval: z.number().int().positive().default(1).describe("gradient steps between weight broadcasts to the workers (asked after each batch's update)"),
    stepsPerIteration: z.number().int().positive().max(10_000_000).default(1000).describe('env steps per iteration (one progress line, evaluation and checkpoint tick)'),
    checkpointReplayBuffer: z.boolean().default(false).describe('save the replay buffer in checkpoints (large), so a resumed run continues exactly'),
  })
  .strict()
  .describe("SAC's settings: twin Q-networks with Polyak-averaged targets, a tanh-squashed Gaussian actor and its entropy temperature, fixed or learned, on a replay buffer (Haarnoja et al. 2018)");

export type SacConfig = z.infer<typeof sacConfigSchema>;
