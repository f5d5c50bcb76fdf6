import type { ParamsById, PolicySpec, SamplingPolicy } from '../../../core/algorithm';
import { Rng } from '../../../core/rng';
import { seedStreams } from '../../../core/seed-streams';
import { createMultiAgentEnv } from '../../env-loader';
import type { GameResult, MatchupDraw, MultiAgentSetup } from '../../transport/protocol';
import type { RolloutWorkerOptions } from '../rollout-worker';
import type { Answer, Incoming, WorkerRollout } from '../worker-rollout';
import type { Seats } from './games';
import { drawMatchup } from './league';
import { MultiAgentSampler } from './sampler';

/** What a multi-agent worker's rollout is built from: the learner's setup, as the worker resolved its env (its `envId`: a shipped module's cache file). */
export interface MultiAgentRolloutOptions extends Pick<RolloutWorkerOptions, 'workerId' | 'envId' | 'envConfig' | 'numEnvs' | 'rolloutLength' | 'seed' | 'incarnation'> {
  policies: Record<string, PolicySpec>;
  multiAgent: MultiAgentSetup;
  createPolicy: (spec: PolicySpec) => SamplingPolicy;
}

/**
 * A rollout worker's side of a multi-agent run: `MultiAgentSampler` (the same games loop as the
 * learner's local sampling, seeded as worker `workerId`) on `numEnvs` envs, every network
 * policy of the weights messages playing its seats, the trained policy's transitions sent as
 * batches. Each answer is at least `numEnvs * rolloutLength` of the trained policy's
 * transitions, and the games finished meanwhile (their seats and returns, for the league).
 * Who sits where: the setup's fixed mapping, or each game drawn from the league's latest draw
 * (sent with the weights) with this worker's own generator (`seedStreams.workerMatchups`).
 */
export class MultiAgentRollout implements WorkerRollout {
  private readonly sampler: MultiAgentSampler;
  private readonly rng: Rng;
  private seatTurn: number[] = [];
  private draw: MatchupDraw | null = null;
  private results: GameResult[] = [];
  private incoming: Incoming | null = null;

  constructor(private readonly opts: MultiAgentRolloutOptions) {
    const m = opts.multiAgent;
    this.rng = new Rng(seedStreams(opts.seed).workerMatchups(opts.workerId));
    const envs = [];
    try {
      for (let i = 0; i < opts.numEnvs; i++) envs.push(createMultiAgentEnv(opts.envId, opts.envConfig));
    } catch (err) {
      for (const e of envs) e.close();
      throw err;
    }
    this.sampler = new MultiAgentSampler({
      envs,
      seed: opts.seed,
      workerId: opts.workerId,
      incarnation: opts.incarnation,
      spec: opts.policies[m.trained[0]],
      trained: m.trained.map((id) => opts.policies[id]),
      builtins: m.builtins,
      createPolicy: opts.createPolicy,
      matchup: (env) => this.matchup(env),
      onGameEnd: (seats, returns) => this.results.push({ seats: { ...seats }, returns: { ...returns } }),
      // No check here: the learner checks every batch on receipt, as a single-agent worker's.
    });
  }

  private matchup(env: number): Seats {
    const m = this.opts.multiAgent;
    if (m.mapping) return m.mapping;
    // No draw yet (none is sampled before weights come): every game self-play.
    const draw = this.draw ?? { selfPlay: 1, builtinShare: 0, builtins: [], seat: 'alternate', opponents: [], weights: null };
    return drawMatchup(draw, this.rng, { trained: m.trained[0], agents: m.agents, seatTurn: this.seatTurn }, env);
  }

  get policyVersion(): number {
    return this.sampler.version;
  }

  /** The trained policies (required) and every other network policy the params name (the built-in players have none). */
  networks(params: ParamsById): { ids: string[]; missing?: string } {
    const m = this.opts.multiAgent;
    const missing = m.trained.find((id) => !params[id]);
    if (missing !== undefined) return { ids: [], missing };
    return { ids: Object.keys(params).filter((id) => m.builtins[id] === undefined) };
  }

  setParams(incoming: Incoming): void {
    this.incoming = incoming;
    if (incoming.draw) this.draw = incoming.draw;
    void this.sampler.broadcast(incoming.params, incoming.policyVersion); // synchronous work: policies added, params set, dropped ones disposed
  }

  async sampleAsync(due: () => boolean, onProgress: (stepsDone: number, total: number) => void, abandon: () => boolean): Promise<Answer | null> {
    const batches = await this.sampler.collectAsync(this.opts.numEnvs * this.opts.rolloutLength, due, onProgress, abandon);
    if (!batches) return null;
    const results = this.results;
    this.results = [];
    return { type: 'games', batches, results };
  }

  recreate(incarnation: number): WorkerRollout {
    const fresh = new MultiAgentRollout({ ...this.opts, incarnation });
    fresh.sampler.setState(this.sampler.getState()); // the action generator and the batch sequence go on
    fresh.rng.setState(this.rng.getState());
    fresh.seatTurn = this.seatTurn;
    if (this.incoming) fresh.setParams(this.incoming);
    this.close();
    return fresh;
  }

  close(): void {
    void this.sampler.close();
  }
}
