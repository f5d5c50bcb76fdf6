import * as path from 'node:path';
import { algorithms } from '../../../algorithms';
import { DEFAULT_POLICY, weightsFromState, type ParamsById, type PolicySpec, type SamplingPolicy } from '../../../core/algorithm';
import { ConfigError } from '../../../core/errors';
import { deriveSeed } from '../../../core/rng';
import type { AgentId, MultiAgentEnv } from '../../../envs/multi-agent';
import { readCheckpoint, type Checkpoint } from '../../checkpoint';
import { trainedPolicyIds, type MultiAgentConfig } from '../../config/multi-agent';
import { totalEnvs } from '../../config/load';
import type { RunConfig } from '../../config/schema';
import { createMultiAgentEnv } from '../../env-loader';
import { evaluationMetrics } from '../../evaluate';
import { episodeMetrics } from '../../metrics';
import { JsonlWriter } from '../../run-dir';
import { TensorBoardWriter } from '../../tensorboard';
import { batchExpectation } from '../../transport/protocol';
import type { CleanUp } from '../clean-up';
import { queueMetrics } from '../drivers';
import { loopMetrics } from '../iteration-record';
import { samplerMetrics } from '../sampler';
import { openRun, type RunParts, type WiringOptions } from '../wiring';
import { MultiAgentAlgorithm, type TrainedPolicy } from './algorithm';
import { describeBuiltins, isBuiltinPlayer, type Player } from './games';
import { League, leagueMetrics } from './league';
import { matchKey, matchMetrics, playMatch } from './matches';
import { MultiAgentSampler } from './sampler';
import { startMultiAgentWorkers } from './workers';

/** The league's generator's stream, apart from every other of the run's seed. */
const LEAGUE_STREAM = 0x6c656167; // 'leag'
/** The stream of the trained policies' seeds (several trained policies), apart from every other. */
const POLICY_STREAM = 0x706f6c69; // 'poli'

/**
 * A multi-agent run (`multiAgent:` in the config): the env built as a `MultiAgentEnv`, the
 * run's algorithm training the one trained policy (`MultiAgentAlgorithm`), the frozen ones
 * loaded from their checkpoints or built in, the league (if any) with its initial snapshot,
 * and local sampling (`MultiAgentSampler`). Each iteration's `evaluate` hook takes the
 * league's snapshots, writes its ratings, and at evaluation iterations plays the trained
 * policy (greedy) against the built-in players of `multiAgent.evaluate` (or itself, `self`).
 */
export async function wireMultiAgent(cfg: RunConfig, m: MultiAgentConfig, opts: WiringOptions, cleanUp: CleanUp, resume?: Checkpoint): Promise<RunParts> {
  const module = algorithms[cfg.algorithm];
  const w = cfg.workers;
  const workers = w.numWorkers > 0 || opts.bind !== undefined;
  const makeEnv = () => createMultiAgentEnv(cfg.env.id, cfg.env.config);
  const probe = makeEnv();
  const agents = probe.possibleAgents;
  const trainedIds = trainedPolicyIds(m);
  const trained = trainedIds[0];
  try {
    for (const id of trainedIds) checkAgainstEnv(cfg.env.id, m, probe, id);
  } finally {
    probe.close();
  }
  if (typeof probe.actionMask === 'function' && !module.actionMasks) throw new ConfigError(`env ${cfg.env.id} gives action masks (actionMask()), and algorithm ${cfg.algorithm} does not use them: it would pick illegal actions`);
  if (cfg.model.recurrent) throw new ConfigError('multiAgent: model.recurrent is not supported in multi-agent runs yet: remove model.recurrent');
  const league = m.league ? new League(m.league, trained, agents, deriveSeed(cfg.seed, LEAGUE_STREAM)) : undefined;
  const algorithm = cleanUp.add(new MultiAgentAlgorithm(trainedAlgorithms(cfg, m, probe, trainedIds), frozenFromCheckpoints(m), league), (a) => a.dispose());
  const specs = algorithm.policySpecs();
  const spec = specs[trained];
  if (spec.state.length > 0) throw new ConfigError(`multiAgent: algorithm ${cfg.algorithm}'s policies carry a recurrent state (${spec.state.map((e) => e.name).join(', ')}), which multi-agent runs do not carry yet: use a feed-forward algorithm`);
  // Built-in players by policy id: the config's, and the league's (their names their ids).
  const builtins = Object.fromEntries([...Object.entries(m.policies).flatMap(([id, p]) => (p.builtin !== undefined ? [[id, p.builtin]] : [])), ...(m.league?.builtins ?? []).map((n) => [n, n])]);
  const sampler = cleanUp.add(
    workers
      ? await startMultiAgentWorkers(cfg, opts, specs, algorithm.schedule, { trained: trainedIds, agents, builtins, mapping: m.mapping ?? null, league })
      : new MultiAgentSampler({
      envs: Array.from({ length: w.envsPerWorker }, makeEnv),
      seed: cfg.seed,
      spec,
      trained: trainedIds.map((id) => specs[id]),
      builtins,
      createPolicy: (s: PolicySpec) => module.createPolicy(s),
      matchup: league ? (i) => league.matchup(i) : () => m.mapping!,
      onGameEnd: league && ((s, returns) => league.record(s, returns)),
      expect: batchExpectation(specs),
    }),
    (s) => s.close(),
  );
  const run = await openRun(cfg, opts, cleanUp, { algorithm, sampler }, resume);
  if (league && !resume) league.snapshot(0, algorithm.getParams()[trained]);
  const ratings = league && cleanUp.add(new LeagueLog(run.runDir), (l) => l.close());
  // Evaluation's greedy copies of the network policies it plays (the trained ones, and the mapping's frozen ones for `team`), made once.
  const evalPolicies = new Map<string, SamplingPolicy>();
  /** The players of one evaluation: each network policy with the weights of `now`, set once per evaluation. */
  const evalPlayers = (now: ParamsById) => {
    const ready = new Map<string, Player>();
    return (id: string): Player => {
      if (builtins[id] !== undefined) return { kind: 'builtin', name: builtins[id] };
      let player = ready.get(id);
      if (player) return player;
      let actor = evalPolicies.get(id);
      if (!actor) evalPolicies.set(id, (actor = cleanUp.add(module.createPolicy(specs[id]), (p) => p.dispose())));
      actor.setParams(now[id]);
      ready.set(id, (player = { kind: 'policy', actor, spec: specs[id], deterministic: cfg.evaluation.deterministic }));
      return player;
    };
  };
  const prefix = (id: string) => (trainedIds.length > 1 ? `${id}/` : '');

  const evaluate = async (iteration: number, params: () => ParamsById): Promise<Record<string, number> | undefined> => {
    const out: Record<string, number> = {};
    if (league) {
      const taken = league.afterIteration(iteration, params()[trained]);
      // The new snapshot can be drawn from the next game on (workers: from the next broadcast's, with the next policy version).
      if (taken && !workers) await sampler.broadcast(algorithm.getParams(), run.counters.policyVersion);
      Object.assign(out, league.metrics());
      ratings!.write(iteration, run.counters.envSteps, league.ratings(), taken);
    }
    if (cfg.evaluation.every > 0 && m.evaluate.length > 0 && iteration % cfg.evaluation.every === 0) {
      const evalPlayer = evalPlayers(params());
      const scores: number[] = [];
      for (const [t, id] of trainedIds.entries()) {
        const player = evalPlayer(id);
        for (const [k, opponent] of m.evaluate.entries()) {
          const match = { makeEnv, seed: deriveSeed(cfg.seed, iteration, k, ...(t > 0 ? [t] : [])), games: cfg.evaluation.episodes, player };
          const result =
            opponent === 'team'
              ? playMatch({ ...match, seats: agents.filter((a) => m.mapping![a] === id), opponent: (seat) => evalPlayer(m.mapping![seat]) })
              : playMatch({ ...match, opponent: opponent === 'self' ? player : { kind: 'builtin', name: opponent } });
          for (const [seat, r] of Object.entries(result)) {
            out[prefix(id) + matchKey('winRate', opponent, seat)] = r.wins / r.games;
            out[prefix(id) + matchKey('returnMean', opponent, seat)] = r.returnMean;
            scores.push(r.returnMean);
          }
        }
      }
      const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
      const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
      Object.assign(out, { evalReturnMean: mean, evalReturnStd: std, evalReturnMin: Math.min(...scores), evalReturnMax: Math.max(...scores) });
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };
  const metrics = [...loopMetrics, ...episodeMetrics, ...samplerMetrics, ...(algorithm.schedule.mode === 'queue' ? queueMetrics : []), ...algorithm.metrics, ...evaluationMetrics, ...(league ? leagueMetrics : []), ...trainedIds.flatMap((id) => matchMetrics(m.evaluate, agents, prefix(id)))];
  return { algorithm, sampler, run, metrics, evaluate };
}

/**
 * The algorithm of each trained policy, built as for a single-agent run on the spaces of the
 * agents it plays (with a league: any agent) and sized for them (`envsPerWorker` x its seats).
 * One trained policy gets the run's seed (as a single-agent run); with several, each gets a
 * seed derived from the run's and its id, so that two policies on the same seats start apart.
 */
function trainedAlgorithms(cfg: RunConfig, m: MultiAgentConfig, env: MultiAgentEnv, ids: string[]): TrainedPolicy[] {
  const module = algorithms[cfg.algorithm];
  const w = cfg.workers;
  return ids.map((id) => {
    const seats = m.mapping ? env.possibleAgents.filter((a) => m.mapping![a] === id) : env.possibleAgents.slice(0, 1);
    const spaces = { observationSpace: env.observationSpaces[seats[0]].toSpec(), actionSpace: env.actionSpaces[seats[0]].toSpec(), actionMask: typeof env.actionMask === 'function' };
    const seed = policySeed(cfg.seed, id, ids.length);
    return { id, algorithm: module.create({ config: cfg[cfg.algorithm], model: cfg.model, ...spaces, seed, totalEnvs: totalEnvs(w) * Math.max(1, seats.length), numWorkers: w.numWorkers, rolloutLength: w.rolloutLength, totalEnvSteps: cfg.stop.envSteps }) };
  });
}

/** The seed of trained policy `id`'s algorithm, one of `count` trained policies: the run's seed when it is the only one (as a single-agent run), else one derived from the run's seed and the id. */
export function policySeed(runSeed: number, id: string, count: number): number {
  return count === 1 ? runSeed : deriveSeed(runSeed, POLICY_STREAM, idHash(id));
}

/** A policy id's 32-bit FNV-1a hash: its part of the seed of its algorithm. */
function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The mapping's agents and the built-in players, checked against the env: a ConfigError naming the key. */
function checkAgainstEnv(envId: string, m: MultiAgentConfig, env: MultiAgentEnv, trained: string): void {
  const agents = env.possibleAgents;
  const players = describeBuiltins(env);
  for (const agent of Object.keys(m.mapping ?? {})) {
    if (!agents.includes(agent)) throw new ConfigError(`multiAgent.mapping.${agent}: ${agent} is not an agent of ${envId} (${agents.join(', ')})`);
  }
  const unmapped = m.mapping ? agents.find((a) => m.mapping![a] === undefined) : undefined;
  if (unmapped !== undefined) throw new ConfigError(`multiAgent.mapping: ${unmapped} of ${envId} has no policy (map every agent: ${agents.join(', ')})`);
  for (const [id, p] of Object.entries(m.policies)) {
    if (p.builtin !== undefined && !isBuiltinPlayer(env, p.builtin)) throw new ConfigError(`multiAgent.policies.${id}.builtin (${JSON.stringify(p.builtin)}) is not a built-in player of ${envId} (${players})`);
  }
  for (const [k, name] of (m.league?.builtins ?? []).entries()) {
    if (!isBuiltinPlayer(env, name)) throw new ConfigError(`multiAgent.league.builtins.${k} (${JSON.stringify(name)}) is not a built-in player of ${envId} (${players})`);
  }
  for (const [k, name] of m.evaluate.entries()) {
    if (!isBuiltinPlayer(env, name) && name !== 'self' && name !== 'team') throw new ConfigError(`multiAgent.evaluate.${k} (${JSON.stringify(name)}) is not a built-in player of ${envId} (${players}), nor self or team`);
  }
  // One network plays every seat of the trained policy (and, with a league, of its snapshots): their spaces must be the same.
  const seats: AgentId[] = m.mapping ? agents.filter((a) => m.mapping![a] === trained) : [...agents];
  const spaceOf = (a: AgentId) => JSON.stringify([env.observationSpaces[a].toSpec(), env.actionSpaces[a].toSpec()]);
  const odd = seats.find((a) => spaceOf(a) !== spaceOf(seats[0]));
  if (odd !== undefined) throw new ConfigError(`multiAgent: ${odd} and ${seats[0]} of ${envId} have different spaces, and policy ${trained} plays both: map them to different policies`);
}

/** The params of the config's frozen `checkpoint` policies, read from their checkpoints (the weights of their trained policy, or of `policy`). */
function frozenFromCheckpoints(m: MultiAgentConfig): ParamsById {
  const out: ParamsById = {};
  for (const [id, p] of Object.entries(m.policies)) {
    if (p.checkpoint === undefined) continue;
    const { metadata, tensors } = readCheckpoint(p.checkpoint);
    const theirs = (metadata.config as { multiAgent?: MultiAgentConfig }).multiAgent;
    const source = p.policy ?? (theirs ? Object.keys(theirs.policies).find((k) => theirs.policies[k].train)! : DEFAULT_POLICY);
    const weights = weightsFromState({ tensors }, source);
    if (weights.length === 0) throw new ConfigError(`multiAgent.policies.${id}.checkpoint: ${p.checkpoint} holds no weights of policy ${source} (weights/${source}/*)`);
    out[id] = { weights, scalars: {} };
  }
  return out;
}

/** Every rating at each iteration: a line of league.jsonl, and TensorBoard scalars `elo/<id>` in the run dir's league/ (a run of its own in TensorBoard). */
class LeagueLog {
  private readonly lines: JsonlWriter;
  private readonly board: TensorBoardWriter;

  constructor(runDir: string) {
    this.lines = new JsonlWriter(path.join(runDir, 'league.jsonl'));
    this.board = new TensorBoardWriter(path.join(runDir, 'league'));
  }

  write(iteration: number, envSteps: number, ratings: Record<string, number>, snapshot: string | undefined): void {
    this.lines.write({ iteration, envSteps, ...(snapshot ? { snapshot } : {}), ratings });
    this.board.writeScalars(envSteps, Object.fromEntries(Object.entries(ratings).map(([id, r]) => [`elo/${id}`, r])));
  }

  close(): void {
    this.lines.close();
    this.board.close();
  }
}
