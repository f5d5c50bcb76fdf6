import * as path from 'node:path';
import { algorithms } from '../../../algorithms';
import { DEFAULT_POLICY, weightsFromState, type ParamsById, type PolicySpec } from '../../../core/algorithm';
import { ConfigError } from '../../../core/errors';
import { deriveSeed } from '../../../core/rng';
import type { AgentId, MultiAgentEnv } from '../../../envs/multi-agent';
import { readCheckpoint, type Checkpoint } from '../../checkpoint';
import type { MultiAgentConfig } from '../../config/multi-agent';
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
import { MultiAgentAlgorithm } from './algorithm';
import { describeBuiltins, isBuiltinPlayer } from './games';
import { League, leagueMetrics } from './league';
import { matchKey, matchMetrics, playMatch } from './matches';
import { MultiAgentSampler } from './sampler';

/** The league's generator's stream, apart from every other of the run's seed. */
const LEAGUE_STREAM = 0x6c656167; // 'leag'

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
  if (w.numWorkers > 0 || opts.bind) throw new ConfigError(`multiAgent: workers.numWorkers (${w.numWorkers}) must be 0${opts.bind ? ' and --bind unset' : ''}: multi-agent runs sample in the learner's process for now`);
  const makeEnv = () => createMultiAgentEnv(cfg.env.id, cfg.env.config);
  const probe = makeEnv();
  const agents = probe.possibleAgents;
  const trained = Object.keys(m.policies).find((id) => m.policies[id].train)!;
  try {
    checkAgainstEnv(cfg.env.id, m, probe, trained);
  } finally {
    probe.close();
  }
  const seats = m.mapping ? agents.filter((a) => m.mapping![a] === trained) : agents.slice(0, 1);
  const spaces = { observationSpace: probe.observationSpaces[seats[0]].toSpec(), actionSpace: probe.actionSpaces[seats[0]].toSpec(), actionMask: typeof probe.actionMask === 'function' };
  if (spaces.actionMask && !module.actionMasks) throw new ConfigError(`env ${cfg.env.id} gives action masks (actionMask()), and algorithm ${cfg.algorithm} does not use them: it would pick illegal actions`);
  if (cfg.model.recurrent) throw new ConfigError('multiAgent: model.recurrent is not supported in multi-agent runs yet: remove model.recurrent');
  const slots = w.envsPerWorker * Math.max(1, seats.length);
  const inner = module.create({ config: cfg[cfg.algorithm], model: cfg.model, ...spaces, seed: cfg.seed, totalEnvs: slots, numWorkers: 0, rolloutLength: w.rolloutLength, totalEnvSteps: cfg.stop.envSteps });
  const league = m.league ? new League(m.league, trained, agents, deriveSeed(cfg.seed, LEAGUE_STREAM)) : undefined;
  const algorithm = cleanUp.add(new MultiAgentAlgorithm(inner, trained, frozenFromCheckpoints(m), league), (a) => a.dispose());
  const specs = algorithm.policySpecs();
  const spec = specs[trained];
  // Built-in players by policy id: the config's, and the league's (their names their ids).
  const builtins = Object.fromEntries([...Object.entries(m.policies).flatMap(([id, p]) => (p.builtin !== undefined ? [[id, p.builtin]] : [])), ...(m.league?.builtins ?? []).map((n) => [n, n])]);
  const sampler = cleanUp.add(
    new MultiAgentSampler({
      envs: Array.from({ length: w.envsPerWorker }, makeEnv),
      seed: cfg.seed,
      spec,
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
  const evalPolicy = cfg.evaluation.every > 0 && m.evaluate.length > 0 ? cleanUp.add(module.createPolicy(spec), (p) => p.dispose()) : undefined;

  const evaluate = async (iteration: number, params: () => ParamsById): Promise<Record<string, number> | undefined> => {
    const out: Record<string, number> = {};
    if (league) {
      const taken = league.afterIteration(iteration, params()[trained]);
      if (taken) await sampler.broadcast(algorithm.getParams(), run.counters.policyVersion); // the new snapshot can be drawn from the next game on
      Object.assign(out, league.metrics());
      ratings!.write(iteration, run.counters.envSteps, league.ratings(), taken);
    }
    if (evalPolicy && iteration % cfg.evaluation.every === 0) {
      evalPolicy.setParams(params()[trained]);
      const scores: number[] = [];
      const player = { kind: 'policy' as const, actor: evalPolicy, spec, deterministic: cfg.evaluation.deterministic };
      for (const [k, opponent] of m.evaluate.entries()) {
        const result = playMatch({ makeEnv, seed: deriveSeed(cfg.seed, iteration, k), games: cfg.evaluation.episodes, player, opponent: opponent === 'self' ? player : { kind: 'builtin', name: opponent } });
        for (const [seat, r] of Object.entries(result)) {
          out[matchKey('winRate', opponent, seat)] = r.wins / r.games;
          out[matchKey('returnMean', opponent, seat)] = r.returnMean;
          scores.push(r.returnMean);
        }
      }
      const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
      const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
      Object.assign(out, { evalReturnMean: mean, evalReturnStd: std, evalReturnMin: Math.min(...scores), evalReturnMax: Math.max(...scores) });
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };
  const metrics = [...loopMetrics, ...episodeMetrics, ...samplerMetrics, ...(algorithm.schedule.mode === 'queue' ? queueMetrics : []), ...algorithm.metrics, ...evaluationMetrics, ...(league ? leagueMetrics : []), ...matchMetrics(m.evaluate, agents)];
  return { algorithm, sampler, run, metrics, evaluate };
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
    if (!isBuiltinPlayer(env, name) && name !== 'self') throw new ConfigError(`multiAgent.evaluate.${k} (${JSON.stringify(name)}) is not a built-in player of ${envId} (${players}), nor self`);
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
