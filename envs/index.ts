import { CartPole } from './cartpole';
import { registerEnv } from './registry';

export * from './env';
export * from './spaces';
export * from './registry';
export { Rng, deriveSeed } from './rng';
export { TimeLimit } from './time-limit';
export { VectorEnv, type VectorStep } from './vector-env';
export { CartPole } from './cartpole';

registerEnv('CartPole-v1', () => new CartPole(), { maxEpisodeSteps: 500, rewardThreshold: 475 });
