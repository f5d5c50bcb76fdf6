import { registerAlgorithm } from '../../algorithms';
import { registerEnv } from '../../envs/registry';
import { MaskedCorridor, toy } from './toy-algorithm';

/**
 * Registers the test-only `toy` algorithm and the `MaskedCorridor-v0` env in this process.
 * The conformance suite loads it into worker processes with `node --require` (NODE_OPTIONS),
 * as a user would register an algorithm of their own on every machine.
 */
registerAlgorithm(toy);
registerEnv('MaskedCorridor-v0', () => new MaskedCorridor(6), { maxEpisodeSteps: 20, rewardThreshold: 1 });
