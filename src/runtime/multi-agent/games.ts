import { perEnv, type Observation, type PolicySpec } from '../../../core/algorithm';
import { concatBytes } from '../../../core/concat';
import { EnvError } from '../../../core/errors';
import type { Rng } from '../../../core/rng';
import type { Action } from '../../../envs/env';
import type { AgentId, MultiAgentEnv, PerAgent } from '../../../envs/multi-agent';
import { envActions, type Actor } from '../../../envs/stepper';
import type { ActedRows, AgentTrajectories } from './trajectories';

/** Who plays a policy id: a network (a sampling policy, batched over every agent it plays), or one of the env's built-in players. */
export type Player =
  | {
      kind: 'policy';
      actor: Actor;
      spec: Pick<PolicySpec, 'boxActions' | 'actionSpace'>;
      /** Greedy actions (evaluation) rather than sampled ones. */
      deterministic: boolean;
    }
  | {
      kind: 'builtin';
      /** One of the env's `baselines`, or `random`. */
      name: string;
    };

/** A built-in player with noise: `minimax:2~0.3` plays a random legal action in 30% of its turns (drawn each turn), minimax:2's in the others. */
const NOISY = /^(.+)~(0(?:\.\d+)?|1(?:\.0+)?)$/;

/** The built-in players of `env`: `random` and the env's `baselines`; each may also be named with noise (`NOISY`, `random~0.3` aside). */
export function builtinPlayers(env: Pick<MultiAgentEnv, 'baselines'>): string[] {
  return [...new Set(['random', ...(env.baselines ?? [])])];
}

/** Whether `name` is a built-in player of `env`: one of `builtinPlayers`, or one of them with noise (`minimax:2~0.3`, the share from 0 to 1). */
export function isBuiltinPlayer(env: Pick<MultiAgentEnv, 'baselines'>, name: string): boolean {
  const noisy = NOISY.exec(name);
  return builtinPlayers(env).includes(noisy ? noisy[1] : name);
}

/** The action of built-in player `name` for `agent`: the env's (`baselineAction`), or for `random` without one a legal action drawn uniformly; with noise (`~p`), a random one with probability p. */
export function builtinAction(env: MultiAgentEnv, name: string, agent: AgentId, rng: Rng): Action {
  const noisy = NOISY.exec(name);
  if (noisy) return builtinAction(env, rng.random() < Number(noisy[2]) ? 'random' : noisy[1], agent, rng);
  if (env.baselineAction && env.baselines?.includes(name)) return env.baselineAction(name, agent, rng);
  const space = env.actionSpaces[agent];
  if (name !== 'random') throw new EnvError(`built-in player "${name}" is not one of the env's (${builtinPlayers(env).join(', ')})`, { field: 'builtin' });
  if (space.type !== 'Discrete') return space.sample(rng);
  const mask = env.actionMask?.(agent) ?? new Uint8Array(space.n).fill(1);
  const legal = [...mask.keys()].filter((a) => mask[a] === 1);
  return legal[rng.int(legal.length)];
}

/** The built-in players of `env` for an error message: `random, greedy, or NAME~P (...)`. */
export function describeBuiltins(env: Pick<MultiAgentEnv, 'baselines'>): string {
  return `${builtinPlayers(env).join(', ')}, each also as NAME~P: a random legal action with probability P`;
}

/** Which policy plays each agent in a game: agent id -> policy id. */
export type Seats = PerAgent<string>;

/** What `MultiAgentGames` needs: the envs, who plays, whose transitions are kept, and who sits where each game. */
export interface GamesOptions {
  envs: MultiAgentEnv[];
  /** Each env's seed for its first reset. */
  seeds: number[];
  /** The player of a policy id (throws for one it does not know). */
  player: (policyId: string) => Player;
  /** The trained policies' trajectories, by policy id: the agents they play are recorded. */
  record: Record<string, AgentTrajectories>;
  /** The seats of env `env`'s next game; null: the env sits out (evaluation with its games done). */
  matchup: (env: number) => Seats | null;
  /** A game ended: its seats and each agent's return. */
  onGameEnd?: (env: number, seats: Seats, returns: PerAgent<number>) => void;
  /** The generator policies sample from and built-in players draw with. */
  rng: Rng;
}

interface Table {
  seats: Seats | null;
  obs: PerAgent<Observation>;
  returns: PerAgent<number>;
  /** Whether the env was ever reset (its first reset takes its seed). */
  started: boolean;
}

/**
 * Plays multi-agent games on a set of envs: at each step every env's acting agents get an action
 * from the policy their seat names (one batched forward pass per policy over all the envs), the
 * envs step, and the agents of trained policies go into their trajectories (`AgentTrajectories`).
 * A finished game is reported (`onGameEnd`) and the env's next game gets its seats from
 * `matchup`. The same loop samples for training and plays evaluation games.
 */
export class MultiAgentGames {
  private readonly tables: Table[];
  private readonly agentIndex: Map<AgentId, number>[];
  /** Slots per env: the most agents an env has. */
  private readonly stride: number;

  constructor(readonly opts: GamesOptions) {
    this.tables = opts.envs.map(() => ({ seats: null, obs: {}, returns: {}, started: false }));
    this.agentIndex = opts.envs.map((e) => new Map(e.possibleAgents.map((a, i) => [a, i])));
    this.stride = Math.max(1, ...opts.envs.map((e) => e.possibleAgents.length));
  }

  /** The slot of `agent` of env `env` in the trajectories: unique over the envs. */
  private slot(env: number, agent: AgentId): number {
    return env * this.stride + this.agentIndex[env].get(agent)!;
  }

  /** The policy ids seated in the games under way. */
  seated(): Set<string> {
    return new Set(this.tables.flatMap((t) => (t.seats ? Object.values(t.seats) : [])));
  }

  /** Whether every env sits out (no game under way, and `matchup` gave none). */
  idle(): boolean {
    return this.tables.every((t) => t.seats === null);
  }

  /** One step of every env with a game (starting games where due); returns the agent actions taken. */
  step(): number {
    const { envs, rng } = this.opts;
    const actions: PerAgent<Action>[] = envs.map(() => ({}));
    const groups = new Map<string, { env: number; agent: AgentId }[]>();
    let acted = 0;
    for (let i = 0; i < envs.length; i++) {
      const t = this.tables[i];
      if (t.seats === null) this.start(i);
      if (t.seats === null) continue;
      for (const agent of envs[i].acting()) {
        const id = t.seats[agent];
        const player = this.opts.player(id);
        if (player.kind === 'builtin') actions[i][agent] = this.builtin(envs[i], player.name, agent, rng);
        else {
          let g = groups.get(id);
          if (!g) groups.set(id, (g = []));
          g.push({ env: i, agent });
        }
        acted += 1;
      }
    }
    for (const [id, group] of groups) this.actGroup(id, group, actions);
    for (let i = 0; i < envs.length; i++) if (this.tables[i].seats !== null) this.stepEnv(i, actions[i]);
    return acted;
  }

  /** One batched forward pass of policy `id` for the agents of `group`; their actions go into `actions`, the trained ones' rows into their trajectories. */
  private actGroup(id: string, group: { env: number; agent: AgentId }[], actions: PerAgent<Action>[]): void {
    const player = this.opts.player(id) as Extract<Player, { kind: 'policy' }>;
    const { envs, rng } = this.opts;
    const first = this.tables[group[0].env].obs[group[0].agent];
    const size = first.length;
    const obs = first instanceof Uint8Array ? new Uint8Array(group.length * size) : new Float32Array(group.length * size);
    const masked = typeof envs[group[0].env].actionMask === 'function';
    const masks = group.map(({ env, agent }) => (masked ? envs[env].actionMask!(agent) : null));
    group.forEach(({ env, agent }, k) => obs.set(this.tables[env].obs[agent], k * size));
    const n = group.length;
    const mask = masked ? concatBytes(masks as Uint8Array[]) : null;
    const act = player.actor.act({ obs, numEnvs: n, state: {}, episodeStarts: new Uint8Array(n), mask, rng, deterministic: player.deterministic });
    const space = player.spec.actionSpace;
    const width = space.type === 'Discrete' ? 1 : perEnv(space.shape);
    const record = this.opts.record[id];
    const acted: ActedRows = { rows: n, obs, actions: act.actions, columns: act.columns, mask };
    group.forEach(({ env, agent }, k) => {
      const envSpace = envs[env].actionSpaces[agent];
      actions[env][agent] = envSpace.type === 'Discrete' ? act.actions[k * width] : envActions(envSpace, act.actions.slice(k * width, (k + 1) * width), player.spec.boxActions);
      record?.act(this.slot(env, agent), acted, k);
    });
  }

  /** A built-in player's action (`builtinAction`). */
  private builtin(env: MultiAgentEnv, name: string, agent: AgentId, rng: Rng): Action {
    return builtinAction(env, name, agent, rng);
  }

  private start(i: number): void {
    const t = this.tables[i];
    const seats = this.opts.matchup(i);
    if (seats === null) return;
    const r = this.opts.envs[i].reset(t.started ? {} : { seed: this.opts.seeds[i] });
    t.started = true;
    [t.seats, t.obs, t.returns] = [seats, { ...r.obs }, {}];
  }

  private stepEnv(i: number, actions: PerAgent<Action>): void {
    const env = this.opts.envs[i];
    const t = this.tables[i];
    const seats = t.seats!;
    const r = env.step(actions);
    for (const agent of Object.keys(r.rewards)) {
      const record = this.opts.record[seats[agent]];
      const key = this.slot(i, agent);
      t.returns[agent] = (t.returns[agent] ?? 0) + r.rewards[agent];
      if (r.obs[agent] !== undefined) t.obs[agent] = r.obs[agent];
      if (!record) continue;
      record.reward(key, r.rewards[agent]);
      if (r.terminations[agent] || r.truncations[agent]) {
        record.end(key, { terminated: r.terminations[agent], truncated: r.truncations[agent], obs: t.obs[agent].slice(), mask: endMask(env, agent) });
      }
    }
    if (env.agents().length === 0) {
      this.opts.onGameEnd?.(i, seats, t.returns);
      t.seats = null;
    }
  }
}

/** An ended agent's mask for its last transition's bootstrap row (never used: no legal action is asked of it), with every action legal where the env leaves none. */
function endMask(env: MultiAgentEnv, agent: AgentId): Uint8Array | null {
  if (!env.actionMask) return null;
  const m = env.actionMask(agent).slice();
  return m.includes(1) ? m : m.fill(1);
}
