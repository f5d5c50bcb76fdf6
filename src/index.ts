/** The programmatic API, for people who script rather than write YAML. */
export * from '../envs';
export { train, type TrainOptions, type TrainResult } from './runtime/learner';
export { loadConfig, validateConfig } from './config/load';
export type { RunConfig } from './config/schema';
export { RlError, ConfigError, EnvError, ProtocolError, CheckpointError, TrainingError } from '../core/errors';
export type * from '../core/algorithm';
export { algorithms } from '../algorithms';
