import type { Observation } from '../core/algorithm';
import { Rng } from '../core/rng';
import { describeValue } from '../core/describe';
import { maskViolation } from '../envs/check';
import type { Action } from '../envs/env';
import type { AgentId, MultiAgentEnv, PerAgent } from '../envs/multi-agent';

/** Steps after which a game that has not ended counts as one that never ends. */
const MAX_STEPS = 10_000;

/** What `checkMultiAgentEnv` found: what held, and one line per problem. */
export interface MultiAgentCheck {
  passed: string[];
  problems: string[];
}

/**
 * `rl check-env`'s check of the multi-agent contract (envs/multi-agent.ts): the spaces of every
 * possible agent; `reset` giving each live agent an observation in its space, and the same seed
 * the same observations; then one game per seed (seed, seed + 1, ...), played to its end with
 * random actions (legal ones under masks) from the agents of `acting()`. At each step: `acting()`
 * is a non-empty subset of `agents()`, each acting agent's mask valid, and the result has, for
 * every agent live before the step, an observation in its space, a finite reward and boolean
 * termination and truncation; an agent that ended leaves `agents()`. Each problem names the
 * game, the step and the field (`rewards.player_1`).
 */
export function checkMultiAgentEnv(envId: string, env: MultiAgentEnv, opts: { seed: number; games: number }): MultiAgentCheck {
  const result: MultiAgentCheck = { passed: [], problems: [] };
  const attempt = attempter(result);
  const fail = (where: string, why: string): never => {
    throw new Error(`env ${envId} (multi-agent): ${where}: ${why}`);
  };
  if (!attempt('multi-agent: possibleAgents with an observation space (a Box) and an action space (Discrete or Box) each', () => checkSpaces(env, fail))) return result;
  const checkObs = (where: string, obs: PerAgent<Observation> | undefined, agents: readonly AgentId[]): void => {
    if (!obs || typeof obs !== 'object') fail(where, `obs must be an object keyed by agent id, got ${describeValue(obs)}`);
    for (const a of agents) {
      const why = env.observationSpaces[a].violation(obs![a]);
      if (why !== undefined) fail(where, `obs.${a} is not in observationSpaces.${a} ${env.observationSpaces[a]}: ${why}`);
    }
  };
  let first: PerAgent<Observation> | undefined;
  if (!attempt('multi-agent: reset gives each live agent an observation in its space', () => {
    const r = env.reset({ seed: opts.seed });
    checkAgents(env, 'after reset', fail);
    checkObs('reset', r?.obs, env.agents());
    first = Object.fromEntries(env.agents().map((a) => [a, r.obs[a].slice()]));
  })) return result;
  attempt('multi-agent: the same seed gives the same first observations', () => {
    const again = env.reset({ seed: opts.seed }).obs;
    for (const [a, obs] of Object.entries(first!)) if (obs.some((v, i) => v !== again[a][i])) fail(`reset({ seed: ${opts.seed} }) twice`, `gave different observations of ${a}`);
  });
  attempt(`multi-agent: ${opts.games} random games to their end (a game per seed from ${opts.seed}): every agent's obs, reward, termination and truncation at each step, valid masks, finished agents leave`, () => {
    for (let g = 0; g < opts.games; g++) {
      const seed = opts.seed + g;
      const rng = new Rng(seed);
      env.reset({ seed });
      for (let t = 1; env.agents().length > 0; t++) {
        const where = `game ${g + 1} (seed ${seed}), step ${t}`;
        if (t > MAX_STEPS) fail(where, `the game did not end within ${MAX_STEPS} steps`);
        checkAgents(env, `before ${where}`, fail);
        const actions: PerAgent<Action> = {};
        for (const a of env.acting()) actions[a] = randomAction(env, a, rng, where, fail);
        const live = [...env.agents()];
        let r;
        try {
          r = env.step(actions);
        } catch (err) {
          fail(where, `step(${JSON.stringify(actions)}) threw: ${(err as Error).message}`);
        }
        checkObs(where, r!.obs, live);
        for (const a of live) {
          const reward = r!.rewards?.[a];
          if (typeof reward !== 'number' || !Number.isFinite(reward)) fail(where, `rewards.${a} must be a finite number, got ${describeValue(reward)}`);
          for (const field of ['terminations', 'truncations'] as const) {
            if (typeof r![field]?.[a] !== 'boolean') fail(where, `${field}.${a} must be a boolean, got ${describeValue(r![field]?.[a])}`);
          }
          const ended = r!.terminations[a] || r!.truncations[a];
          if (ended && env.agents().includes(a)) fail(where, `${a} ended (terminations.${a} or truncations.${a}) but is still in agents()`);
        }
      }
    }
  });
  return result;
}

/** A check's runner: `attempt(what, fn)` records `what` as passed when `fn` returns, else the message it threw as a problem; it says which. */
export function attempter(result: MultiAgentCheck): (what: string, fn: () => void) => boolean {
  return (what, fn) => {
    try {
      fn();
      result.passed.push(what);
      return true;
    } catch (err) {
      result.problems.push((err as Error).message);
      return false;
    }
  };
}

type Fail = (where: string, why: string) => never;

function checkSpaces(env: MultiAgentEnv, fail: Fail): void {
  const agents = env.possibleAgents;
  if (!Array.isArray(agents) || agents.length === 0 || agents.some((a) => typeof a !== 'string')) fail('possibleAgents', `must be a non-empty array of agent ids (strings), got ${describeValue(agents)}`);
  if (new Set(agents).size !== agents.length) fail('possibleAgents', `must name each agent once, got ${agents.join(', ')}`);
  for (const a of agents) {
    if (env.observationSpaces?.[a]?.type !== 'Box') fail('observationSpaces', `observationSpaces.${a} must be a Box, got ${describeValue(env.observationSpaces?.[a])}`);
    const space = env.actionSpaces?.[a];
    if (space?.type !== 'Discrete' && space?.type !== 'Box') fail('actionSpaces', `actionSpaces.${a} must be a Discrete or a Box, got ${describeValue(space)}`);
  }
}

/** agents() within possibleAgents, acting() a non-empty part of agents() while the game goes on. */
function checkAgents(env: MultiAgentEnv, when: string, fail: Fail): void {
  const agents = env.agents();
  const stray = agents.find((a) => !env.possibleAgents.includes(a));
  if (stray !== undefined) fail(when, `agents() names ${JSON.stringify(stray)}, which is not in possibleAgents (${env.possibleAgents.join(', ')})`);
  const acting = env.acting();
  if (acting.length === 0) fail(when, `acting() is empty while agents() is ${agents.join(', ')}: someone must act`);
  const idle = acting.find((a) => !agents.includes(a));
  if (idle !== undefined) fail(when, `acting() names ${JSON.stringify(idle)}, which is not in agents() (${agents.join(', ')})`);
}

/** A random action of `agent`: among its legal ones where the env has masks. */
function randomAction(env: MultiAgentEnv, agent: AgentId, rng: Rng, where: string, fail: Fail): Action {
  const space = env.actionSpaces[agent];
  if (typeof env.actionMask !== 'function' || space.type !== 'Discrete') return space.sample(rng);
  const mask = env.actionMask(agent);
  const why = maskViolation(mask, space.n);
  if (why) fail(where, `actionMask(${JSON.stringify(agent)}) ${why}`);
  const legal = [...mask.keys()].filter((i) => mask[i] === 1);
  return legal[rng.int(legal.length)];
}
