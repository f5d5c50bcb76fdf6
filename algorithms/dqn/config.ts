import { z } from 'zod';
import { gradientPaths } from '../common/gradient-step';

/** DQN's settings (the `dqn:` section of a config). */
export const dqnConfigSchema = z
  .object({
    lr: z.number().positive().max(1).default(1e-3).describe('Adam step size'),
    gamma: z.number().min(0).max(1).default(0.99).describe('discount factor'),
    batchSize: z.number().int().positive().max(65_536).default(64).describe('transitions per gradient step'),
    bufferSize: z.number().int().positive().max(10_000_000).default(100_000).describe('replay buffer capacity, in transitions'),
    learningStarts: z.number().int().min(0).default(1000).describe('transitions in the buffer before the first gradient step'),
    trainFrequency: z.number().positive().default(4).describe('env steps per gradient step (0.5: two gradient steps per env step)'),
    gradientStepsPerBatch: z.number().int().positive().nullable().default(null).describe('gradient steps per batch received, instead of trainFrequency; null: use trainFrequency'),
    targetUpdateInterval: z.number().int().positive().default(500).describe('gradient steps between target-network updates'),
    tau: z.number().positive().max(1).default(1).describe('target update: target <- tau * online + (1 - tau) * target; 1: hard copy'),
    doubleQ: z.boolean().default(true).describe('double DQN: the online network picks the next action, the target network values it'),
    dueling: z.boolean().default(false).describe('dueling head: Q = V + A - mean(A)'),
    huberDelta: z.number().positive().default(1).describe('Huber loss threshold on the TD error'),
    maxGradNorm: z.number().positive().default(10).describe('global gradient-norm clip'),
    nStep: z.number().int().positive().max(1000).default(1).describe('steps summed in each return before bootstrapping'),
    epsilonStart: z.number().min(0).max(1).default(1).describe('exploration rate at the start'),
    epsilonEnd: z.number().min(0).max(1).default(0.05).describe('exploration rate after the schedule'),
    epsilonFraction: z.number().positive().max(1).default(0.1).describe('fraction of stop.envSteps over which epsilon falls linearly'),
    perWorkerEpsilon: z
      .object({
        base: z.number().positive().max(1).default(0.4).describe('Ape-X base rate'),
        alpha: z.number().min(0).default(7).describe('Ape-X exponent spread'),
      })
      .strict()
      .nullable()
      .default(null)
      .describe('Ape-X: worker i of N explores with base^(1 + alpha * i / (N - 1)), fixed, instead of the schedule; null: the schedule'),
    prioritizedReplay: z.boolean().default(false).describe('sample transitions by priority |TD error|^alpha'),
    priorityAlpha: z.number().min(0).default(0.6).describe('prioritized replay: how much priorities count (0: uniform)'),
    priorityBetaStart: z.number().min(0).max(1).default(0.4).describe('prioritized replay: importance-weight exponent at the start, annealed to 1 over stop.envSteps'),
    priorityEps: z.number().positive().default(1e-6).describe('prioritized replay: added to |TD error| so no transition gets priority 0'),
    weightSyncInterval: z.number().int().positive().default(8).describe('gradient steps between weight broadcasts to the workers'),
    stepsPerIteration: z.number().int().positive().max(10_000_000).default(1000).describe('env steps per iteration (one progress line, evaluation and checkpoint tick)'),
    checkpointReplayBuffer: z.boolean().default(false).describe('save the replay buffer in checkpoints (large), so a resumed run continues exactly'),
    gradientPath: z.enum(gradientPaths).default('tape').describe("how a step differentiates the loss: tape (tfjs' autodiff) or writtenOut (the gradient written out by hand, the same numbers in fewer kernels; conv layers included)"),
  })
  .strict()
  .describe("DQN's settings: replay buffer, target network, epsilon-greedy exploration and its variants (double, dueling, n-step, prioritized, Ape-X)");

export type DqnConfig = z.infer<typeof dqnConfigSchema>;
