export * from './env';
export * from './spaces';
export * from './registry';
export { Rng, deriveSeed } from './rng';
export { TimeLimit } from './time-limit';
export { VectorEnv, type VectorStep } from './vector-env';
export { CartPole } from './cartpole';
