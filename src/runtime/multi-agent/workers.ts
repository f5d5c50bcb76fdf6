import type { Algorithm, PolicySpec } from '../../../core/algorithm';
import { ConfigError } from '../../../core/errors';
import type { AgentId } from '../../../envs/multi-agent';
import type { RunConfig } from '../../config/schema';
import type { WorkerPool } from '../pool/worker-pool';
import { startWorkerPool, type WiringOptions } from '../wiring';
import type { League } from './league';

/** Policies a weights message may carry (the protocol's bound): the trained one, the frozen ones and the league's snapshots together. */
const MAX_BROADCAST_POLICIES = 64;

/**
 * A multi-agent run's rollout workers (`workers.numWorkers`, `--bind`): the worker pool, its
 * setup telling each worker the trained policy, the agents, the built-in players and the
 * mapping; with a league, each weights message carries the league's draw (`League.draw`, who
 * plays whom, by what weights), and every game a worker finishes comes back with its batches
 * and is recorded in the league (`League.record`) as it arrives.
 */
export async function startMultiAgentWorkers(
  cfg: RunConfig,
  opts: WiringOptions,
  specs: Record<string, PolicySpec>,
  schedule: Algorithm['schedule'],
  run: { trained: string[]; agents: readonly AgentId[]; builtins: Record<string, string>; mapping: Record<string, string> | null; league?: League },
): Promise<WorkerPool> {
  const { league } = run;
  const networks = Object.keys(specs).length + (cfg.multiAgent?.league?.maxSnapshots ?? 0);
  if (networks > MAX_BROADCAST_POLICIES) {
    throw new ConfigError(`multiAgent.league.maxSnapshots (${cfg.multiAgent?.league?.maxSnapshots}): with workers, the trained, frozen and snapshot policies together (${networks}) must be at most ${MAX_BROADCAST_POLICIES}, what one weights message carries`);
  }
  return startWorkerPool(cfg, opts, specs, schedule, {
    setup: { trained: [...run.trained], agents: [...run.agents], builtins: run.builtins, mapping: run.mapping },
    draw: league && (() => league.draw()),
    onGames: league && ((results) => results.forEach((r) => league.record(r.seats, r.returns))),
  });
}
