import { DEFAULT_POLICY, weightsFromState, weightsToState, type Algorithm, type AlgorithmState, type NamedTensor, type ParamsById, type PolicySpec, type TrajectoryBatch, type UpdateContext, type Weights } from '../../../core/algorithm';
import type { League, LeagueState } from './league';

/** Where a checkpoint keeps the league's snapshots: `league/<id>/<weight>` (not `weights/`: a resumed run's league may differ in size). */
const LEAGUE_PREFIX = 'league/';
/** The key of the league's state in the algorithm state's `json`. */
const LEAGUE_KEY = 'multiAgentLeague';

/**
 * A policy's weights in a checkpoint's tensors: a run's own policy (`weights/<id>/`), or one of
 * a league's snapshots (`league/<id>/`, `main.120`), under the names its `getParams()` gives them.
 */
export function checkpointWeights(state: Pick<AlgorithmState, 'tensors'>, policyId: string): Weights {
  const own = weightsFromState(state, policyId);
  if (own.length > 0) return own;
  const prefix = `${LEAGUE_PREFIX}${policyId}/`;
  return state.tensors.filter((t) => t.name.startsWith(prefix)).map((t) => ({ ...t, name: t.name.slice(prefix.length) }));
}

/**
 * A multi-agent run's algorithm as the runtime sees it: the run's algorithm, built as for a
 * single-agent run (its policy `default`), trains the one trained policy under its own id, and
 * the frozen policies (checkpoint copies, the league's snapshots) travel beside it under
 * theirs: `getParams()` gives every policy's params, so that the sampler and the workers get
 * the opponents the same way as the trained weights. Batches go to the algorithm unchanged;
 * the checkpoint holds the trained weights under `weights/<trained>/` (what `rl evaluate` and
 * `rl export --policy <trained>` read) and the league's snapshots under `league/<id>/`.
 */
export class MultiAgentAlgorithm implements Algorithm {
  readonly schedule: Algorithm['schedule'];
  readonly metrics: Algorithm['metrics'];

  constructor(
    private readonly inner: Algorithm,
    readonly trained: string,
    /** Frozen policies' params from checkpoints, by policy id (fixed for the run). */
    private readonly fixed: ParamsById,
    readonly league?: League,
  ) {
    this.schedule = inner.schedule;
    this.metrics = inner.metrics;
  }

  syncDue(): boolean {
    return this.inner.syncDue?.() ?? false;
  }

  weightsBroadcast(): void {
    this.inner.weightsBroadcast?.();
  }

  /** The trained policy's spec under its id; every frozen network plays with the same spec under its own. */
  policySpecs(): Record<string, PolicySpec> {
    const spec = this.inner.policySpecs()[DEFAULT_POLICY];
    const ids = [this.trained, ...Object.keys(this.frozen())];
    return Object.fromEntries(ids.map((id) => [id, { ...spec, policyId: id }]));
  }

  private frozen(): ParamsById {
    return { ...this.fixed, ...(this.league?.frozenParams() ?? {}) };
  }

  getParams(): ParamsById {
    return { [this.trained]: this.inner.getParams()[DEFAULT_POLICY], ...this.frozen() };
  }

  update(batches: TrajectoryBatch[], ctx: UpdateContext): Promise<Record<string, number>> {
    return this.inner.update(batches, ctx);
  }

  async getState(): Promise<AlgorithmState> {
    const s = await this.inner.getState();
    const own = weightsFromState(s, DEFAULT_POLICY);
    const rest = s.tensors.filter((t) => !t.name.startsWith(`weights/${DEFAULT_POLICY}/`));
    const league: NamedTensor[] = Object.entries(this.league?.frozenParams() ?? {}).flatMap(([id, p]) => p.weights.map((w) => ({ ...w, name: `${LEAGUE_PREFIX}${id}/${w.name}` })));
    return { tensors: [...weightsToState(own, this.trained), ...rest, ...league], json: { ...s.json, ...(this.league ? { [LEAGUE_KEY]: this.league.getState() } : {}) } };
  }

  async setState(state: AlgorithmState): Promise<void> {
    const own = weightsFromState(state, this.trained);
    const rest = state.tensors.filter((t) => !t.name.startsWith('weights/') && !t.name.startsWith(LEAGUE_PREFIX));
    const { [LEAGUE_KEY]: league, ...json } = state.json;
    await this.inner.setState({ tensors: [...weightsToState(own, DEFAULT_POLICY), ...rest], json });
    if (this.league && league) {
      this.league.setState(league as LeagueState, (id) => ({ weights: checkpointWeights({ tensors: state.tensors.filter((t) => t.name.startsWith(LEAGUE_PREFIX)) }, id), scalars: {} }));
    }
  }

  dispose(): void {
    this.inner.dispose();
  }
}
