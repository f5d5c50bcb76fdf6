/**
 * The programmatic API, for people who script rather than write YAML: `train(config)`, the env
 * contract and registry (`Env`, `makeEnv`, `registerEnv`), the algorithm registry
 * (`algorithms`, `registerAlgorithm`) and the error classes. The algorithm contract's helpers
 * are in `rl-zmq/core/algorithm`, the seeds of a run's random streams in `rl-zmq/core/seed-streams`.
 *
 * @module rl-zmq
 */
export * from '../envs';
export { train, type TrainOptions, type TrainResult } from './runtime/learner';
export { loadConfig, validateConfig } from './config/load';
export type { RunConfig } from './config/schema';
export { RlError, ConfigError, EnvError, ProtocolError, CheckpointError, TrainingError } from '../core/errors';
export type * from '../core/algorithm';
export { algorithms, registerAlgorithm } from '../algorithms';
export type { KeyPair } from './transport/curve';
