import { CHECKPOINT_FORMAT, type Checkpoint } from '../../src/checkpoint';

/**
 * A small made-up PPO CartPole checkpoint of `iteration`, for saveCheckpoint without a training run: its one
 * tensor holds [iteration, iteration] (to tell copies apart), its runtime state the episode `returns`, in
 * checkpoint format `format` (format 1, as the version before policy ids wrote it, keeps weights under
 * `weights/`), with an `evaluation` in its metadata if one is given.
 */
export function fakeCheckpoint(
  iteration: number,
  opts: { returns?: number[]; format?: number; evaluation?: { mean: number; iteration: number } } = {},
): Omit<Checkpoint, 'dir'> {
  const { returns = [], format = CHECKPOINT_FORMAT, evaluation } = opts;
  return {
    metadata: {
      formatVersion: format,
      packageVersion: '0',
      algorithm: 'ppo',
      envId: 'CartPole-v1',
      iteration,
      envSteps: iteration * 100,
      wallSeconds: iteration,
      time: 'now',
      episodeReturnMean: null,
      config: {},
      ...(evaluation ? { evaluation: { ...evaluation, std: 1, episodes: 3 } } : {}),
    },
    algorithm: { tensors: [{ name: format === 1 ? 'weights/w' : 'weights/default/w', shape: [2], data: new Float32Array([iteration, iteration]) }], json: {} },
    runtime: { iteration, envSteps: iteration * 100, wallSeconds: iteration, policyVersion: iteration, episodes: { returns, lengths: returns, total: returns.length }, workers: [] },
  };
}
