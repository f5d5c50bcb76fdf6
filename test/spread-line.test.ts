import { strict as assert } from 'node:assert';
import { Rng, SpreadLine, makeMultiAgentEnv } from '../envs';
import { EnvError } from '../core/errors';
import { checkMultiAgentEnv } from '../src/check-multi-agent';

/** An env at `positions` with `landmarks`, `t` steps in. */
function at(positions: number[], landmarks: number[], t = 0, config: Record<string, unknown> = {}): SpreadLine {
  const env = new SpreadLine(config);
  env.reset({ seed: 0 });
  env.setState({ positions, landmarks, t, rng: new Rng(0).getState() });
  return env;
}

describe('SpreadLine-v0 (cooperative, simultaneous moves)', () => {
  it('moves both agents at once and pays both minus the uncovered distance over the cells', () => {
    const env = at([0, 6], [1, 4]);
    assert.deepEqual(env.acting(), ['agent_0', 'agent_1']);
    // agent_0 steps right onto landmark 1; agent_1 stays at 6, 2 from landmark 4: -2 / 7 each.
    const r = env.step({ agent_0: 2, agent_1: 1 });
    assert.deepEqual(r.rewards, { agent_0: -2 / 7, agent_1: -2 / 7 });
    // Both at the wall-free cells next: agent_1 left twice covers 4, and the reward is 0.
    env.step({ agent_0: 1, agent_1: 0 });
    assert.deepEqual(env.step({ agent_0: 1, agent_1: 0 }).rewards, { agent_0: 0, agent_1: 0 });
  });

  it('stops an agent at the wall and truncates both at the last step, terminating neither', () => {
    const env = at([0, 3], [5, 6], 11);
    const r = env.step({ agent_0: 0, agent_1: 2 });
    // agent_0 stays at 0 (the wall); agent_1 at 4: landmark 5 is 1 away, 6 is 2 away.
    assert.deepEqual(r.rewards.agent_0, -3 / 7);
    assert.deepEqual([r.truncations, r.terminations, env.agents()], [{ agent_0: true, agent_1: true }, { agent_0: false, agent_1: false }, []]);
  });

  it('observes own position, the other agent, the landmarks and its own index, one-hot', () => {
    const env = at([2, 5], [0, 6]);
    const obs = env.step({ agent_0: 1, agent_1: 1 }).obs;
    const ones = (o: ArrayLike<number>) => Array.from(o).flatMap((v, i) => (v === 1 ? [i] : []));
    assert.deepEqual(ones(obs.agent_0), [2, 7 + 5, 14 + 0, 14 + 6, 21]);
    assert.deepEqual(ones(obs.agent_1), [5, 7 + 2, 14 + 0, 14 + 6, 22]);
  });

  it('has a greedy built-in player that walks to the landmark nearest itself, both to the same one if it is', () => {
    const env = at([3, 5], [2, 6]);
    const rng = new Rng(0);
    assert.deepEqual([env.baselineAction('greedy', 'agent_0', rng), env.baselineAction('greedy', 'agent_1', rng)], [0, 2]);
    const crowded = at([1, 2], [0, 6]);
    assert.deepEqual([crowded.baselineAction('greedy', 'agent_0', rng), crowded.baselineAction('greedy', 'agent_1', rng)], [0, 0]);
    assert.throws(() => env.baselineAction('smart', 'agent_0', rng), (e: Error) => e instanceof EnvError && /SpreadLine-v0: no built-in player "smart"; the built-in players are random, greedy/.test(e.message));
  });

  it('is registered, names a bad config key, and passes the multi-agent check', () => {
    const env = makeMultiAgentEnv('SpreadLine-v0', { cells: 5 });
    assert.deepEqual(env.observationSpaces.agent_0.shape, [17]);
    assert.throws(() => new SpreadLine({ cell: 5 }), /SpreadLine-v0: unknown config key "cell"; did you mean "cells"\?/);
    assert.throws(() => new SpreadLine({ steps: 0 }), /SpreadLine-v0: config.steps must be a whole number from 1 to 1000, got 0/);
    assert.deepEqual(checkMultiAgentEnv('SpreadLine-v0', new SpreadLine(), { seed: 0, games: 5 }).problems, []);
  });
});
