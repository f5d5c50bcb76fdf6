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
    /** Another checkpoint's trained policy (`checkpoint:DIR`), ready to act; the caller disposes of it. */
    load: (dir: string) => Promise<{ policy: SamplingPolicy; spec: PolicySpec }>;
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
    if (!known(o) && o !== 'self' && !o.startsWith('checkpoint:')) {
      throw new ConfigError(`--opponent ${o}: not a built-in player of ${cfg.env.id} (${builtins}), self, or checkpoint:DIR`);
    }
  }
  const deterministic = !opts.stochastic;
  const me: Player = { kind: 'policy', actor: policy, spec, deterministic };
  const report: MatchReport = { policy: spec.policyId, games: opts.games, matches: [] };
  if (!opts.json) console.log(`${meta.algorithm} on ${cfg.env.id}, ${dir} (iteration ${meta.iteration}, ${meta.envSteps.toLocaleString('en-US')} env steps), policy ${spec.policyId}, ${deterministic ? 'deterministic' : 'stochastic'} actions:`);
  for (const [k, opponent] of opponents.entries()) {
    const other = opponent.startsWith('checkpoint:') ? await opts.load(resolveCheckpoint(opponent.slice('checkpoint:'.length))) : undefined;
    try {
      const player: Player = other ? { kind: 'policy', actor: other.policy, spec: other.spec, deterministic } : opponent === 'self' ? me : { kind: 'builtin', name: opponent };
      const seats = playMatch({ makeEnv, seed: opts.seed * 1000 + k, games: opts.games, player: me, opponent: player });
      report.matches.push({ opponent, seats });
      if (!opts.json) console.log(`  against ${opponent}:\n${Object.entries(seats).map(([seat, r]) => `    ${describeSeat(seat, r)}`).join('\n')}`);
    } finally {
      other?.policy.dispose();
    }
  }
  return report;
}
