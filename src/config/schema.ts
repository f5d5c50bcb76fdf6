import { z } from 'zod';
import { algorithms } from '../../algorithms';
import { INFERENCE_CHOICES } from '../inference/engine';
import { MAX_BATCH_ENVS, MAX_BATCH_LENGTH } from '../transport/limits';
import { multiAgentSchema } from './multi-agent';

/** Caps on sizes, so that a typo (1e6 for 1e3) is a config error, not an out-of-memory crash later. */
export const LIMITS = { layerUnits: 4096, layers: 16, convFilters: 1024, convKernel: 64, convLayers: 16, numWorkers: 256, envsPerWorker: MAX_BATCH_ENVS, rolloutLength: MAX_BATCH_LENGTH } as const;

/**
 * The run config, key by key. Every key has a default and a one-line description; the
 * algorithm's own section (`ppo:`, ...) comes from the algorithm module.
 */
const envSchema = z
  .object({
    id: z.string().min(1).optional().describe('a registered env id (see `rl envs`)'),
    module: z.string().min(1).optional().describe("your env's TypeScript or JavaScript file, relative to the config file"),
    export: z.string().min(1).optional().describe("the module's export that builds the env (a class or a factory); default: its default export"),
    config: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("handed to the env's factory; its key wrappers (not the env's) lists observation wrappers applied in order: [{ grayscale: true, resize: [84, 84] }, { frameStack: 4 }]"),
  })
  .strict();

const modelSchema = z
  .object({
    hiddenSizes: z.array(z.number().int().positive().max(LIMITS.layerUnits)).min(1).max(LIMITS.layers).default([64, 64]).describe('units per hidden layer'),
    activation: z.enum(['tanh', 'relu']).default('tanh').describe('activation after each hidden layer'),
    sharedLayers: z.boolean().default(false).describe('one body for policy and value (true) or one each'),
    conv: z
      .array(
        z
          .object({
            filters: z.number().int().positive().max(LIMITS.convFilters).describe('output channels'),
            kernel: z.number().int().positive().max(LIMITS.convKernel).describe('side of the square kernel, in pixels'),
            stride: z.number().int().positive().max(LIMITS.convKernel).default(1).describe('pixels between kernel positions'),
            padding: z.enum(['valid', 'same']).default('valid').describe("valid: only whole windows; same: zero-padded, ceil(size / stride) outputs"),
          })
          .strict(),
      )
      .max(LIMITS.convLayers)
      .default([])
      .describe("conv layers (relu) shared by policy and value, before hiddenSizes; needs an image observation Box(h, w, c) (a uint8 Box's pixels reach them scaled to [0, 1] by its bounds); []: none"),
    recurrent: z
      .object({
        type: z.enum(['lstm', 'gru']).default('lstm').describe('the recurrent cell: lstm (state h and c) or gru (state h)'),
        size: z.number().int().positive().max(LIMITS.layerUnits).default(64).describe('units of the cell: floats of each state entry per env'),
      })
      .strict()
      .optional()
      .describe('a recurrent cell between the observation (or the conv layers) and hiddenSizes, shared by policy and value, its state carried per env and reset at each episode start, trained on padded sequences (the algorithm sets their sequenceLength); only for algorithms with recurrent policies; absent: feed-forward'),
  })
  .strict();

const workersSchema = z
  .object({
    numWorkers: z.number().int().min(0).max(LIMITS.numWorkers).default(0).describe('rollout worker processes; 0: sample in the learner process'),
    envsPerWorker: z.number().int().positive().max(LIMITS.envsPerWorker).default(8).describe('envs each worker steps together'),
    rolloutLength: z.number().int().positive().max(LIMITS.rolloutLength).default(128).describe('steps per env in each trajectory batch'),
    workerTimeoutSeconds: z.number().positive().max(86_400).default(10).describe('a worker silent this long is dropped (and a spawned one restarted)'),
    maxWorkerRestarts: z.number().int().min(0).default(100).describe('restarts of each spawned worker before it is given up'),
    heartbeatSeconds: z.number().positive().max(3600).default(1).describe('interval of heartbeats both ways'),
    decodeThreads: z.number().int().min(0).max(16).default(0).describe("threads (worker_threads) that decode and check the workers' batches off the learner's update thread; 0: the learner's thread does"),
    inference: z
      .enum(INFERENCE_CHOICES)
      .default('auto')
      .describe("what runs the policy's forward pass in the workers (and local mode): auto: onnxruntime where onnxruntime-node is installed and runs the policy's network, else tfjs; tfjs; onnx: onnxruntime or an error"),
  })
  .strict();

const checkpointSchema = z
  .object({
    every: z.number().int().min(0).default(0).describe('also save every N iterations; 0: by time only (everySeconds), and at the end (and on Ctrl-C)'),
    everySeconds: z.number().min(0).default(300).describe('also save when this many seconds have passed since the last checkpoint; 0: never by time'),
    keep: z.number().int().positive().default(5).describe('checkpoints kept; the oldest are pruned'),
    best: z.boolean().optional().describe('also keep the policy of the best evaluation so far as checkpoints/best/ (needs evaluation.every); default: on when evaluation.every > 0'),
  })
  .strict();

const evaluationSchema = z
  .object({
    every: z.number().int().min(0).default(0).describe('evaluate every N iterations; 0: never during training'),
    episodes: z.number().int().positive().max(1_000_000).default(10).describe('episodes per evaluation'),
    deterministic: z.boolean().default(true).describe('greedy actions (argmax / Gaussian mean)'),
    video: z.boolean().default(false).describe('also record one episode to videos/iter_NNNNNN.gif in the run dir at each evaluation'),
  })
  .strict();

const stopSchema = z
  .object({
    episodeReturnMean: z.number().optional().describe('mean return of the last 100 episodes'),
    evalReturnMean: z.number().optional().describe('mean return of evaluation, reached at two evaluations in a row (needs evaluation.every)'),
    envSteps: z.number().int().positive().optional().describe('env steps sampled'),
    iterations: z.number().int().positive().optional().describe('training iterations'),
    wallSeconds: z.number().positive().optional().describe('seconds since the start'),
  })
  .strict();

export const STOP_KEYS = ['episodeReturnMean', 'evalReturnMean', 'envSteps', 'iterations', 'wallSeconds'] as const;

/** The schema of a config whose `algorithm:` is `name`. */
export function configSchema(name: string) {
  const algorithm = algorithms[name];
  return z
    .object({
      name: z.string().min(1).optional().describe('run name; runs/<name>-<timestamp>/ (default: the config file name)'),
      algorithm: z.literal(name).describe('which algorithm trains'),
      env: envSchema.describe('the environment to train on: a registered id, or a module of your own'),
      seed: z.number().int().min(0).default(0).describe('seeds envs, weights and sampling'),
      backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto').describe('tfjs backend'),
      model: modelSchema.prefault({}).describe('the policy and value networks'),
      workers: workersSchema.prefault({}).describe('who samples: rollout worker processes, their envs and their batches'),
      stop: stopSchema.describe('when the run ends: at the first of these that is reached (set at least one)'),
      checkpoint: checkpointSchema.prefault({}).describe('when checkpoints are saved to checkpoints/ in the run dir, and how many are kept'),
      evaluation: evaluationSchema.prefault({}).describe('evaluation episodes during training, run by the learner on envs of its own'),
      multiAgent: multiAgentSchema.optional().describe("a multi-agent env's policies: which policy plays each agent (mapping), which one trains, and self-play against a league of its snapshots; absent: a single-agent run"),
      [name]: algorithm.configSchema.prefault({}),
    })
    .strict();
}

type Parsed = z.infer<ReturnType<typeof configSchema>>;
/** A validated config; `env.id` is always set (a module env gets the id that names its file and export). */
export type RunConfig = Omit<Parsed, 'env'> & {
  /** The env section, its id resolved. */
  env: Parsed['env'] & {
    /** A registered id, or for a module env the id that names its file and export. */
    id: string;
  };
} & Record<string, unknown>;
export type StopConfig = z.infer<typeof stopSchema>;
