import type { PolicySpec, SamplingPolicy } from '../core/algorithm';
import { ConfigError } from '../core/errors';
import type { AgentId } from '../envs/multi-agent';
import { resolveCheckpoint, type CheckpointMetadata } from './checkpoint';
import type { RunConfig } from './config/schema';
import { createMultiAgentEnv } from './env-loader';
import { describeBuiltins, isBuiltinPlayer, type Player } from './runtime/multi-agent/games';
import { describeSeat, playMatch, type SeatResult } from './runtime/multi-agent/matches';

/** What `rl evaluate` of a multi-agent checkpoint found: per opponent, the policy's results in each seat. */
export interface MatchReport {
  /** The checkpoint's policy that played. */
  policy: string;
  /** Games per seat against each opponent. */
  games: number;
  /** One entry per opponent, in the order asked. */
  matches: { opponent: string; seats: Record<AgentId, SeatResult> }[];
}

/**
 * `rl evaluate` of a multi-agent checkpoint: its policy (greedy unless `stochastic`) plays each
 * opponent `games` games in every seat: a built-in player of the env (`random`, `minimax:2`),
 * `self` (the same policy), or `checkpoint:DIR` (another checkpoint's trained policy); it prints
 * the win, draw and loss rates per opponent and seat unless `json`. No opponents named: the
 * config's `multiAgent.evaluate`, else `random`.
 */
export async function evaluateMatches(
  loaded: { dir: string; meta: CheckpointMetadata; cfg: RunConfig; policy: SamplingPolicy; spec: PolicySpec },
  opts: {
    games: number;
    seed: number;
    stochastic: boolean;
    json: boolean;
    opponents: string[];
    /** A checkpoint's policy (`checkpoint:DIR`: its trained one; `team`: a policy of the mapping), ready to act; the caller disposes of it. */
    load: (dir: string, policy?: string) => Promise<{ policy: SamplingPolicy; spec: PolicySpec }>;
  },
): Promise<MatchReport> {
  const { dir, meta, cfg, policy, spec } = loaded;
  const makeEnv = () => createMultiAgentEnv(cfg.env.id, cfg.env.config);
  const probe = makeEnv();
  const known = (name: string) => isBuiltinPlayer(probe, name);
  const builtins = describeBuiltins(probe);
  probe.close();
  const opponents = opts.opponents.length > 0 ? opts.opponents : cfg.multiAgent!.evaluate.length > 0 ? cfg.multiAgent!.evaluate : ['random'];
  for (const o of opponents) {
    if (!known(o) && o !== 'self' && o !== 'team' && !o.startsWith('checkpoint:')) {
      throw new ConfigError(`--opponent ${o}: not a built-in player of ${cfg.env.id} (${builtins}), self, team, or checkpoint:DIR`);
    }
    if (o === 'team' && !Object.values(cfg.multiAgent!.mapping ?? {}).includes(spec.policyId)) {
      throw new ConfigError(`--opponent team: policy ${spec.policyId} plays no agent of the mapping of ${dir} (${cfg.multiAgent!.mapping ? Object.entries(cfg.multiAgent!.mapping).map(([a, id]) => `${a}: ${id}`).join(', ') : 'a league: no mapping'})`);
    }
  }
  const deterministic = !opts.stochastic;
  const me: Player = { kind: 'policy', actor: policy, spec, deterministic };
  const report: MatchReport = { policy: spec.policyId, games: opts.games, matches: [] };
  if (!opts.json) console.log(`${meta.algorithm} on ${cfg.env.id}, ${dir} (iteration ${meta.iteration}, ${meta.envSteps.toLocaleString('en-US')} env steps), policy ${spec.policyId}, ${deterministic ? 'deterministic' : 'stochastic'} actions:`);
  for (const [k, opponent] of opponents.entries()) {
    const other = opponent.startsWith('checkpoint:') ? await opts.load(resolveCheckpoint(opponent.slice('checkpoint:'.length))) : undefined;
    const team = opponent === 'team' ? await teamPlayers(dir, cfg, spec.policyId, me, opts.load) : undefined;
    try {
      const player: Player = other ? { kind: 'policy', actor: other.policy, spec: other.spec, deterministic } : opponent === 'self' ? me : { kind: 'builtin', name: opponent };
      const match = { makeEnv, seed: opts.seed * 1000 + k, games: opts.games, player: me };
      const seats = team ? playMatch({ ...match, seats: team.seats, opponent: (seat) => team.players[seat] }) : playMatch({ ...match, opponent: player });
      report.matches.push({ opponent, seats });
      if (!opts.json) console.log(`  against ${opponent}:\n${Object.entries(seats).map(([seat, r]) => `    ${describeSeat(seat, r)}`).join('\n')}`);
    } finally {
      other?.policy.dispose();
      team?.dispose();
    }
  }
  return report;
}

/**
 * `--opponent team`: the checkpoint's mapping plays every agent, `policy` (as `me`) its own
 * seats and each other agent its mapped policy: a built-in player, this checkpoint's trained
 * policy of that id, or a frozen one from its own checkpoint. Its seats are the policy's mapped ones.
 */
async function teamPlayers(
  dir: string,
  cfg: RunConfig,
  policy: string,
  me: Player,
  load: (dir: string, policy?: string) => Promise<{ policy: SamplingPolicy; spec: PolicySpec }>,
): Promise<{ seats: AgentId[]; players: Record<AgentId, Player>; dispose: () => void }> {
  const m = cfg.multiAgent!;
  const mapping: Record<AgentId, string> = m.mapping!;
  const loaded: SamplingPolicy[] = [];
  const players: Record<AgentId, Player> = {};
  const byPolicy = new Map<string, Player>([[policy, me]]);
  try {
    for (const [agent, id] of Object.entries(mapping)) {
      let player = byPolicy.get(id);
      if (!player) {
        const p = m.policies[id];
        if (p.builtin !== undefined) player = { kind: 'builtin', name: p.builtin };
        else {
          const other = await load(p.checkpoint !== undefined ? resolveCheckpoint(p.checkpoint) : dir, p.checkpoint !== undefined ? p.policy : id);
          loaded.push(other.policy);
          player = { kind: 'policy', actor: other.policy, spec: other.spec, deterministic: me.kind === 'policy' && me.deterministic };
        }
        byPolicy.set(id, player);
      }
      players[agent] = player;
    }
  } catch (err) {
    for (const p of loaded) p.dispose();
    throw err;
  }
  return { seats: Object.keys(mapping).filter((a) => mapping[a] === policy), players, dispose: () => loaded.forEach((p) => p.dispose()) };
}
