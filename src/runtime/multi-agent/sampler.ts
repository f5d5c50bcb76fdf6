import type { ParamsById, PolicySpec, SamplingPolicy, TrajectoryBatch } from '../../../core/algorithm';
import { Rng } from '../../../core/rng';
import { seedStreams } from '../../../core/seed-streams';
import type { MultiAgentEnv, PerAgent } from '../../../envs/multi-agent';
import { validateBatch, type BatchExpectation } from '../../transport/protocol';
import type { Sampler } from '../sampler';
import type { WorkerState } from '../rollout-worker';
import { MultiAgentGames, type Player, type Seats } from './games';
import { AgentTrajectories } from './trajectories';

/** What the multi-agent sampler is built from. */
export interface MultiAgentSamplerOptions {
  envs: MultiAgentEnv[];
  seed: number;
  /** The sampler's worker id (0: the learner's own): its env seeds, generator and batches' `workerId`. */
  workerId?: number;
  /** A worker's set of envs after an env threw (fresh env seeds); default 0. */
  incarnation?: number;
  /** The trained policy's spec (its batches' shape), which the frozen policies play with too. */
  spec: PolicySpec;
  /** Every trained policy's spec, each one's agents recorded into batches of its own; absent: `[spec]`. */
  trained?: PolicySpec[];
  /** Built-in players by policy id (the config's `builtin` policies). */
  builtins: Record<string, string>;
  /** A sampling policy for a network policy of this spec (the trained one, a frozen one, a snapshot). */
  createPolicy: (spec: PolicySpec) => SamplingPolicy;
  matchup: (env: number) => Seats;
  onGameEnd?: (seats: Seats, returns: PerAgent<number>) => void;
  /** What every batch is checked against as it is cut (local mode); absent: not here (a worker's batches are checked by the learner on receipt). */
  expect?: BatchExpectation;
}

/**
 * Local mode's sampler for a multi-agent run: `MultiAgentGames` on the learner's own envs,
 * every network policy of the run's params (the trained one and the frozen ones, added and
 * dropped as the broadcast params name them, a dropped one kept while a game seats it) playing its seats, each trained policy's
 * transitions cut into batches of one (env, agent) slot each. `collect(n)` steps until n of the
 * trained policies' transitions are finished: its steps are agent steps.
 */
export class MultiAgentSampler implements Sampler {
  private readonly games: MultiAgentGames;
  private readonly trajectories: AgentTrajectories[];
  private readonly specs: Record<string, PolicySpec>;
  private readonly policies = new Map<string, SamplingPolicy>();
  private readonly players = new Map<string, Player>();
  private readonly rng: Rng;
  private policyVersion = 0;
  private seq = 0;

  constructor(private readonly opts: MultiAgentSamplerOptions) {
    const seeds = seedStreams(opts.seed);
    const w = opts.workerId ?? 0;
    this.rng = new Rng(seeds.workerActions(w));
    const trained = opts.trained ?? [opts.spec];
    this.specs = Object.fromEntries(trained.map((s) => [s.policyId, s]));
    this.trajectories = trained.map((s) => new AgentTrajectories(s));
    this.games = new MultiAgentGames({
      envs: opts.envs,
      seeds: opts.envs.map((_, i) => seeds.workerEnv(w, i, opts.incarnation ?? 0)),
      player: (id) => this.player(id),
      record: Object.fromEntries(this.trajectories.map((t) => [t.spec.policyId, t])),
      matchup: opts.matchup,
      onGameEnd: (_, seats, returns) => opts.onGameEnd?.(seats, returns),
      rng: this.rng,
    });
  }

  /** Who plays policy id `id`: made once between broadcasts (it is asked at every agent step). */
  private player(id: string): Player {
    let player = this.players.get(id);
    if (!player) this.players.set(id, (player = this.newPlayer(id)));
    return player;
  }

  private newPlayer(id: string): Player {
    const builtin = this.opts.builtins[id];
    if (builtin !== undefined) return { kind: 'builtin', name: builtin };
    const policy = this.policies.get(id);
    if (!policy) throw new Error(`policy ${id} plays a seat, and no params of it were broadcast`);
    return { kind: 'policy', actor: policy, spec: this.specOf(id), deterministic: false };
  }

  private specOf(id: string): PolicySpec {
    return this.specs[id] ?? { ...this.opts.spec, policyId: id };
  }

  async collect(minSteps: number): Promise<TrajectoryBatch[]> {
    while (this.pending() < minSteps) this.games.step();
    return this.drain();
  }

  /** The trained policies' finished transitions, all together. */
  private pending(): number {
    return this.trajectories.reduce((n, t) => n + t.pending(), 0);
  }

  /**
   * `collect(minSteps)` for a worker process: between steps, whenever `due()` says so, calls
   * `onProgress` with the trained policies' transitions finished so far and lets the event loop
   * run (heartbeats go on); returns null, the transitions kept for the next call, once `abandon()` says so.
   */
  async collectAsync(minSteps: number, due: () => boolean, onProgress: (steps: number, total: number) => void, abandon: () => boolean): Promise<TrajectoryBatch[] | null> {
    while (this.pending() < minSteps) {
      this.games.step();
      if (!due()) continue;
      const done = this.pending();
      if (done > 0) onProgress(done, minSteps); // none finished yet says no rate (the learner would take it for a stalled worker)
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (abandon()) return null;
    }
    return this.drain();
  }

  /** The policy version the sampler's policies hold. */
  get version(): number {
    return this.policyVersion;
  }

  private drain(): TrajectoryBatch[] {
    const batches = this.trajectories.flatMap((t) => t.drain({ workerId: this.opts.workerId ?? 0, policyVersion: this.policyVersion, seq: () => this.seq++ }));
    const expect = this.opts.expect;
    if (expect) for (const b of batches) validateBatch(b, expect);
    return batches;
  }

  async next(): Promise<TrajectoryBatch[]> {
    return this.collect(this.opts.envs.length);
  }

  async take(minSteps: number): Promise<{ batches: TrajectoryBatch[]; queued: number }> {
    return { batches: await this.collect(minSteps), queued: 0 };
  }

  async broadcast(params: ParamsById, policyVersion: number): Promise<void> {
    for (const [id, p] of Object.entries(params)) {
      let policy = this.policies.get(id);
      if (!policy) this.policies.set(id, (policy = this.opts.createPolicy(this.specOf(id))));
      policy.setParams(p);
    }
    // A policy the params no longer name (a snapshot the league dropped) goes once no game under way seats it.
    const seated = this.games.seated();
    for (const [id, policy] of this.policies) {
      if (params[id] || seated.has(id)) continue;
      policy.dispose();
      this.policies.delete(id);
    }
    this.players.clear(); // policies added or dropped
    this.policyVersion = policyVersion;
  }

  stats(): Record<string, number> {
    return { liveWorkers: 0 };
  }

  /** Games under way are not saved: a resumed run starts fresh games (its generator goes on). */
  getState(): WorkerState[] {
    return [{ rng: this.rng.getState(), seq: this.seq, envs: null }];
  }

  setState(states: WorkerState[]): void {
    if (!states[0]) return;
    this.rng.setState(states[0].rng);
    this.seq = states[0].seq;
  }

  async close(): Promise<void> {
    for (const policy of this.policies.values()) policy.dispose();
    for (const env of this.opts.envs) env.close();
  }
}
