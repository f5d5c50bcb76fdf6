import { z } from 'zod';
import { DEFAULT_POLICY } from '../../core/algorithm';

/** The most policies and snapshots a league holds at once, and the most policies a config names. */
export const MULTI_AGENT_LIMITS = { policies: 64, snapshots: 256 } as const;

/** A policy id: letters, digits, `_` and `-` (checkpoints name tensors by it, `weights/<id>/...`; a league's snapshots are `<id>.<iteration>`). */
const policyId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');

/**
 * One policy of `multiAgent.policies`: trained by the run's algorithm (`train: true`, one or
 * more, each its own network), a frozen copy of a checkpoint's policy, or one of the env's built-in players (`builtin`).
 */
const policySchema = z
  .object({
    train: z.boolean().default(false).describe('trained by the run (one or more policies, each its own network and optimizer; one with a league); false: it only acts'),
    checkpoint: z.string().min(1).optional().describe("a frozen policy: the checkpoint dir whose weights it plays with (the run's own algorithm and model)"),
    policy: policyId.optional().describe('with checkpoint: which of its policies (default: its trained one)'),
    builtin: z.string().min(1).optional().describe("a frozen player the env has built in (`random`, or ConnectFour-v0's `minimax:2`); the env's `baselines` lists them"),
  })
  .strict();

const leagueSchema = z
  .object({
    snapshotEvery: z.number().int().min(0).default(10).describe('a frozen snapshot of the trained policy joins the league every N iterations; 0: only by winRateGate'),
    winRateGate: z.number().min(0).max(1).optional().describe("also snapshot as soon as the trained policy's win rate against the league (draws half) since the last snapshot reaches this, over gateGames games at least"),
    gateGames: z.number().int().positive().default(200).describe('games since the last snapshot the gate needs before it can open'),
    maxSnapshots: z.number().int().positive().max(MULTI_AGENT_LIMITS.snapshots).default(20).describe('snapshots kept (the first, and the newest); the oldest after the first leaves when a new one comes'),
    opponents: z.enum(['uniform', 'recent', 'prioritized']).default('prioritized').describe('how each game draws its opponent: uniform over the league, uniform over the newest `recent`, or prioritized: weight (1 - win rate against it)^2, the hard ones more'),
    recent: z.number().int().positive().default(5).describe('with opponents: recent, how many of the newest snapshots'),
    selfPlay: z.number().min(0).max(1).default(0.2).describe('share of games the trained policy plays against itself (both seats train) rather than a snapshot'),
    seat: z.enum(['alternate', 'random']).default('alternate').describe("the trained policy's seat in each env's next game: alternate, or drawn"),
    builtins: z.array(z.string().min(1)).default([]).describe("built-in players of the env (`minimax:2`) that join the league as fixed opponents, rated with the snapshots; []: none"),
    builtinShare: z.number().min(0).max(1).default(0).describe('share of games against one of `builtins` (drawn uniformly) rather than a snapshot'),
  })
  .strict();

export const multiAgentSchema = z
  .object({
    policies: z.record(policyId, policySchema).describe('the policies by id (letters, digits, _ and -), each one of: `{ train: true }` (the run trains it: one or more, each its own network; one with a league), `{ checkpoint: DIR, policy: ID }` (frozen: a checkpoint\'s policy, by default the one it trained), `{ builtin: NAME }` (frozen: a built-in player of the env, `random`, `minimax:2`)'),
    mapping: z.record(z.string(), policyId).optional().describe("agent id -> policy id for every agent of the env (player_0: main, player_1: main is self-play); with a league, the league seats the trained policy each game and the mapping is not used"),
    league: leagueSchema.optional().describe('self-play against frozen snapshots of the trained policy, with Elo ratings; absent: the mapping decides every game'),
    evaluate: z.array(z.string().min(1)).default([]).describe("built-in players each trained policy plays at each evaluation (evaluation.every), or `self`, or `team` (every other agent played by its mapped policy; the trained policy in its mapped seats only), evaluation.episodes games per seat (greedy): win rate and mean return per opponent and seat (winRate/<opponent>/<seat>, returnMean/...); evalReturnMean is the mean of the mean returns"),
  })
  .strict();

/** `multiAgent:` as validated. */
export type MultiAgentConfig = z.infer<typeof multiAgentSchema>;
/** `multiAgent.league:` as validated. */
export type LeagueConfig = z.infer<typeof leagueSchema>;
/** One policy of `multiAgent.policies:` as validated. */
export type PolicyEntry = z.infer<typeof policySchema>;

/**
 * The rules across `multiAgent`'s keys the schema cannot say: each a key path (below
 * `multiAgent`) and the rule broken; [] when sound. The agents are checked against the env's at
 * the start of the run (`checkMapping`).
 */
export function multiAgentIssues(m: MultiAgentConfig): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const ids = Object.keys(m.policies);
  const trained = ids.filter((id) => m.policies[id].train);
  if (ids.length > MULTI_AGENT_LIMITS.policies) issues.push({ path: 'policies', message: `has ${ids.length} policies, more than ${MULTI_AGENT_LIMITS.policies}` });
  if (trained.length === 0) issues.push({ path: 'policies', message: 'must have a policy with train: true (the run trains it), got none' });
  if (m.league && trained.length > 1) issues.push({ path: 'league', message: `trains one policy against its snapshots, and policies has ${trained.length} with train: true (${trained.join(', ')}): keep one, or drop the league and map each agent` });
  for (const id of ids) {
    const p = m.policies[id];
    const kinds = [p.train && 'train', p.checkpoint !== undefined && 'checkpoint', p.builtin !== undefined && 'builtin'].filter(Boolean);
    if (kinds.length !== 1) issues.push({ path: `policies.${id}`, message: `must set exactly one of train: true, checkpoint, builtin; got ${kinds.length === 0 ? 'none' : kinds.join(', ')}` });
    if (p.policy !== undefined && p.checkpoint === undefined) issues.push({ path: `policies.${id}.policy`, message: 'needs checkpoint (it names a policy of that checkpoint)' });
  }
  if (!m.league && m.mapping === undefined) issues.push({ path: 'mapping', message: 'is required without a league: which policy plays each agent (player_0: main, player_1: main)' });
  if (m.league && m.mapping !== undefined) issues.push({ path: 'mapping', message: 'is not used with a league (the league seats the trained policy each game): remove one of them' });
  for (const [agent, id] of Object.entries(m.mapping ?? {})) {
    if (!ids.includes(id)) issues.push({ path: `mapping.${agent}`, message: `(${JSON.stringify(id)}) is not a policy of multiAgent.policies (${ids.join(', ')})` });
  }
  for (const id of trained) {
    if (m.mapping && !Object.values(m.mapping).includes(id)) issues.push({ path: `policies.${id}`, message: 'has train: true, and multiAgent.mapping gives it no agent: it would train on nothing (map an agent to it, or drop it)' });
  }
  for (const [k, name] of m.evaluate.entries()) {
    if (name === 'team' && m.league) issues.push({ path: `evaluate.${k}`, message: '(team) plays each agent by its mapped policy, and a league has no mapping: use self or a built-in player' });
  }
  if (m.league && m.league.builtinShare > 0 && m.league.builtins.length === 0) issues.push({ path: 'league.builtinShare', message: `(${m.league.builtinShare}) needs league.builtins: which built-in players to play` });
  if (m.league && m.league.selfPlay + m.league.builtinShare > 1) issues.push({ path: 'league.builtinShare', message: `(${m.league.builtinShare}) + league.selfPlay (${m.league.selfPlay}) must be <= 1: they are shares of the games` });
  if (m.league && m.league.snapshotEvery === 0 && m.league.winRateGate === undefined) issues.push({ path: 'league.snapshotEvery', message: '(0) needs league.winRateGate: with neither, no snapshot is ever taken' });
  return issues;
}

/** The policy a run trains: a multi-agent run's first `train: true` one, else `default` (what `rl evaluate`, `rl export` and `rl view` take by default). */
export function trainedPolicyId(m: MultiAgentConfig | undefined): string {
  return trainedPolicyIds(m)[0];
}

/** Every policy a run trains, in the config's order: a multi-agent run's `train: true` ones, else `[default]`. */
export function trainedPolicyIds(m: MultiAgentConfig | undefined): string[] {
  const ids = m ? Object.keys(m.policies).filter((id) => m.policies[id].train) : [];
  return ids.length > 0 ? ids : [DEFAULT_POLICY];
}
