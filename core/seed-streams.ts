/**
 * The seeds of a run's random streams, derived from its `seed`: an algorithm seeds its
 * generators from `seedStreams(seed)`. `import { seedStreams } from 'rl-zmq/core/seed-streams'`.
 *
 * @module rl-zmq/core/seed-streams
 */
import { deriveSeed } from './rng';

/**
 * Every random stream of a run, named in one place and derived from the run's seed.
 *
 * Why a tag per stream: `deriveSeed` chains, `deriveSeed(deriveSeed(s, a), b) === deriveSeed(s, a, b)`,
 * and `new Rng(x)` fills its state with `deriveSeed(x, 0..3)`. Streams derived with bare small
 * indices therefore collide: the network's initialisation (`deriveSeed(seed, 1)`) was worker
 * 1's env stream (`deriveSeed(seed, 1, i)`), both starting `[-1955032313, 193529915, ...]` for
 * seed 0. Here each stream's first index is its own 32-bit tag (four ASCII letters, far from
 * any worker id, env index or Rng word), and each stream has a fixed number of indices, so two
 * streams meet only by a 32-bit hash collision. A test derives all of a run's streams and
 * asserts that they, and the generators seeded by them, all differ.
 */
export const STREAM_TAGS = {
  /** Network initialisation (PPO's actor-critic; DQN's online network, and its target as a copy). */
  init: 0x696e6974, // 'init'
  /** The learner's own draws: minibatch order (PPO), replay sampling (DQN). */
  learner: 0x6c726e72, // 'lrnr'
  /** Env `i` of worker `w`, in its `incarnation`-th set of envs (after an env error, fresh ones). */
  workerEnv: 0x77656e76, // 'wenv'
  /** Worker `w`'s action sampling. */
  workerActions: 0x77616374, // 'wact'
  /** Worker `w`'s draws of a multi-agent run's matchups (who sits where each game, from the league's draw). */
  workerMatchups: 0x776d6174, // 'wmat'
  /** Evaluation round `r`'s env `i`. */
  evalEnv: 0x65656e76, // 'eenv'
  /** Evaluation round `r`'s action sampling (stochastic evaluation, epsilon-greedy). */
  evalActions: 0x65616374, // 'eact'
} as const;

/** The seeds of one run's streams; see `STREAM_TAGS` for what each one drives. */
export interface SeedStreams {
  /** Network initialisation. */
  init: number;
  /** The learner's own draws (minibatch order, replay sampling). */
  learner: number;
  /** Env `env` of worker `worker`, in its `incarnation`-th set of envs. */
  workerEnv(worker: number, env: number, incarnation: number): number;
  /** Worker `worker`'s action sampling. */
  workerActions(worker: number): number;
  /** Worker `worker`'s matchup draws (multi-agent runs with a league). */
  workerMatchups(worker: number): number;
  /** One evaluation's seeds: round `r` (the iteration in training; 0 for `rl evaluate`). */
  evaluation(round: number): EvaluationSeeds;
}

/** The seeds of one evaluation round. */
export interface EvaluationSeeds {
  /** Env `i`'s. */
  env(i: number): number;
  /** Action sampling's (stochastic evaluation, epsilon-greedy). */
  actions: number;
}

/** Every stream's seed of a run seeded with `seed`. */
export function seedStreams(seed: number): SeedStreams {
  const t = STREAM_TAGS;
  return {
    init: deriveSeed(seed, t.init),
    learner: deriveSeed(seed, t.learner),
    workerEnv: (worker, env, incarnation) => deriveSeed(seed, t.workerEnv, worker, env, incarnation),
    workerActions: (worker) => deriveSeed(seed, t.workerActions, worker),
    workerMatchups: (worker) => deriveSeed(seed, t.workerMatchups, worker),
    evaluation: (round) => ({ env: (i) => deriveSeed(seed, t.evalEnv, round, i), actions: deriveSeed(seed, t.evalActions, round) }),
  };
}
