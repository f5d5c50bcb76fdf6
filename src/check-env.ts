import type { Action, Env } from '../envs/env';
import { checkFrame, checkReset, checkStep, maskViolation } from '../envs/check';
import { checkTurnGame } from './check-turn-game';
import { Rng } from '../core/rng';
import type { Observation } from '../core/algorithm';
import { createEnv, createMultiAgentEnv, parseModuleRef } from './env-loader';
import { attempter, checkMultiAgentEnv } from './check-multi-agent';
import type { MultiAgentEnv } from '../envs/multi-agent';
import { listEnvs, listMultiAgentEnvs } from '../envs/registry';

/** Random games the multi-agent check plays, one per seed. */
export const MULTI_AGENT_GAMES = 20;

export interface EnvCheck {
  envId: string;
  passed: string[];
  problems: string[];
}

/**
 * `rl check-env`: runs an env with random actions and checks its contract, one line per
 * problem: reset/step return shapes, observations in observationSpace (dtype, shape, bounds,
 * finite), actions from actionSpace.sample accepted, booleans, finite rewards, seeding, and
 * reset after a finished episode; when the env has the optional actionMask(), the mask after
 * reset and every step (n bytes of 0 or 1, one legal action at least), random actions drawn
 * among the legal ones; and, when the env has the optional render(), its frames' shape (an
 * RGB Uint8Array of width x height x 3, the same size after reset and steps); and, when the
 * env has the optional turnGame(), a game with each side first (`checkTurnGame`). A multi-agent
 * env (a multi-agent id, or a module whose export builds one) gets `checkMultiAgentEnv`'s
 * checks instead; an id in both registries (ConnectFour-v0) gets both.
 */
export function checkEnv(envId: string, opts: { steps: number; seed: number; config?: Record<string, unknown> }): EnvCheck {
  const result: EnvCheck = { envId, passed: [], problems: [] };
  const multiAgent = (build: () => MultiAgentEnv): void => {
    let env: MultiAgentEnv;
    try {
      env = build();
    } catch (err) {
      result.problems.push((err as Error).message);
      return;
    }
    const r = checkMultiAgentEnv(envId, env, { seed: opts.seed, games: MULTI_AGENT_GAMES });
    result.passed.push(...r.passed);
    result.problems.push(...r.problems);
    env.close();
  };
  if (listMultiAgentEnvs().some((s) => s.id === envId)) {
    multiAgent(() => createMultiAgentEnv(envId, opts.config ?? {}));
    if (!listEnvs().some((s) => s.id === envId)) return result;
  } else if (parseModuleRef(envId) && buildsMultiAgent(envId, opts.config ?? {})) {
    multiAgent(() => createMultiAgentEnv(envId, opts.config ?? {}));
    return result;
  }
  const attempt = attempter(result);
  let env: Env | undefined;
  if (!attempt('builds', () => (env = createEnv(envId, opts.config ?? {})))) return result;
  const e = env!;
  attempt('has spaces: observationSpace a Box, actionSpace a Discrete or Box', () => {
    if (e.observationSpace?.type !== 'Box') throw new Error(`env ${envId}: observationSpace must be a Box, got ${String(e.observationSpace)}`);
    if (e.actionSpace?.type !== 'Discrete' && e.actionSpace?.type !== 'Box') throw new Error(`env ${envId}: actionSpace must be a Discrete or a Box, got ${String(e.actionSpace)}`);
  });
  let first: Observation | undefined;
  if (!attempt('reset returns { obs, info } with obs in observationSpace', () => {
    const r = e.reset({ seed: opts.seed });
    checkReset(envId, e, r);
    first = r.obs.slice();
  })) return result;
  attempt('the same seed gives the same first observation', () => {
    const again = e.reset({ seed: opts.seed }).obs;
    if (first!.some((v, i) => v !== again[i])) throw new Error(`env ${envId}: reset({ seed: ${opts.seed} }) twice gave different observations: [${first}] and [${again}]`);
  });
  const rng = new Rng(opts.seed);
  let episodes = 0;
  const masked = typeof e.actionMask === 'function';
  if (masked) {
    attempt('actionMask() needs a Discrete action space', () => {
      if (e.actionSpace.type !== 'Discrete') throw new Error(`env ${envId}: actionMask() needs a Discrete action space, got ${String(e.actionSpace)}`);
    });
  }
  /** The legal actions now, checked; null for an env without masks. */
  const legal = (when: string): number[] | null => {
    if (!masked || e.actionSpace.type !== 'Discrete') return null;
    const m = e.actionMask!();
    const why = maskViolation(m, e.actionSpace.n);
    if (why) throw new Error(`env ${envId}: actionMask() ${when} ${why}`);
    return Array.from(m.keys()).filter((a) => m[a] === 1);
  };
  attempt(`${opts.steps} steps with random ${masked ? 'legal ' : ''}actions: obs in space, finite rewards, boolean flags${masked ? ', a valid mask at each step' : ''}`, () => {
    e.reset({ seed: opts.seed });
    let allowed = legal('after reset');
    for (let t = 1; t <= opts.steps; t++) {
      const action: Action = allowed ? allowed[rng.int(allowed.length)] : e.actionSpace.sample(rng);
      let r;
      try {
        r = e.step(action);
      } catch (err) {
        throw new Error(`env ${envId}: step ${t}: threw on action ${String(action)} from actionSpace.sample: ${(err as Error).message}`);
      }
      checkStep(envId, e, r, t, action);
      if (r.terminated || r.truncated) {
        episodes += 1;
        const again = e.reset();
        checkReset(envId, e, again); // reset after a finished episode
        allowed = legal(`after the reset after step ${t}`);
      } else {
        allowed = legal(`after step ${t} (action ${String(action)})`);
      }
    }
  });
  if (episodes > 0) result.passed.push(`reset after a finished episode works (${episodes} episodes)`);
  if (typeof e.render === 'function') {
    attempt('render() returns RGB frames of one size (width x height x 3 bytes)', () => {
      e.reset({ seed: opts.seed });
      const first = checkFrame(envId, e.render!(), 'after reset');
      for (let t = 1; t <= 3; t++) {
        const allowed = legal(`before step ${t} of the render check`);
        const r = e.step(allowed ? allowed[rng.int(allowed.length)] : e.actionSpace.sample(rng));
        const f = checkFrame(envId, e.render!(), `after step ${t}`);
        if (f.width !== first.width || f.height !== first.height) throw new Error(`env ${envId}: render() after step ${t} is ${f.width} x ${f.height}, after reset ${first.width} x ${first.height}: frames must keep one size`);
        if (r.terminated || r.truncated) break;
      }
    });
  } else {
    result.passed.push('no render() (optional: videos and rl view need it)');
  }
  if (typeof e.turnGame === 'function') {
    attempt("turnGame(): a game with each side first, played out with random legal moves: a player to move, valid legal moves, observations in space, illegal moves refused, a result at the end, a frame and moves to click", () => checkTurnGame(envId, e, rng));
  }
  try {
    e.close();
  } catch (err) {
    result.problems.push(`env ${envId}: close() threw: ${(err as Error).message}`);
  }
  return result;
}

/** Whether the module env `envId` builds a multi-agent env (false where it builds nothing: the single-agent check then says why). */
function buildsMultiAgent(envId: string, config: Record<string, unknown>): boolean {
  try {
    createMultiAgentEnv(envId, config).close();
    return true;
  } catch {
    return false;
  }
}
