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

/** Where a checkpoint of several trained policies keeps each one's state beside its weights: `policies/<id>/<name>` (optimizer moments, a target network). */
const POLICY_PREFIX = 'policies/';
/** The key of the trained policies' own states in the algorithm state's `json`, when there are several. */
const POLICIES_KEY = 'multiAgentPolicies';

/** One trained policy of a run: its id and the algorithm that trains it (its own network, optimizer and generators). */
export interface TrainedPolicy {
  id: string;
  algorithm: Algorithm;
}

/**
 * A multi-agent run's algorithm as the runtime sees it: each trained policy is the run's
 * algorithm built as for a single-agent run (its policy `default`), trained under its own id,
 * and the frozen policies (checkpoint copies, the league's snapshots) travel beside them under
 * theirs: `getParams()` gives every policy's params, so that the sampler and the workers get
 * the opponents the same way as the trained weights. Batches go to the algorithm of their
 * `policyId`; the checkpoint holds each trained policy's weights under `weights/<id>/` (what
 * `rl evaluate` and `rl export --policy <id>` read) and the league's snapshots under
 * `league/<id>/`. With one trained policy its state, metrics and schedule are its algorithm's
 * own (the checkpoints and progress.jsonl keys of a single trained policy); with several, each
 * one's metrics are `<id>/<key>`, its other state `policies/<id>/...`, and an on-policy
 * iteration gathers the sum of their batch sizes.
 */
export class MultiAgentAlgorithm implements Algorithm {
  readonly schedule: Algorithm['schedule'];
  readonly metrics: Algorithm['metrics'];
  /** The first trained policy's id: the one a league snapshots, and `rl evaluate`'s default. */
  readonly trained: string;

  constructor(
    private readonly policies: TrainedPolicy[],
    /** Frozen policies' params from checkpoints, by policy id (fixed for the run). */
    private readonly fixed: ParamsById,
    readonly league?: League,
  ) {
    this.trained = policies[0].id;
    const first = policies[0].algorithm.schedule;
    this.schedule = first.mode === 'async' ? first : { ...first, trainBatchSize: policies.reduce((n, p) => n + (p.algorithm.schedule as typeof first).trainBatchSize, 0) };
    this.metrics = this.several() ? policies.flatMap((p) => p.algorithm.metrics.map((m) => ({ ...m, key: `${p.id}/${m.key}`, ...(m.label ? { label: `${p.id}.${m.label}` } : {}), ...(m.tag ? { tag: `${m.tag}/${p.id}` } : {}) }))) : policies[0].algorithm.metrics;
  }

  private several(): boolean {
    return this.policies.length > 1;
  }

  syncDue(): boolean {
    return this.policies.some((p) => p.algorithm.syncDue?.() ?? false);
  }

  weightsBroadcast(): void {
    for (const p of this.policies) p.algorithm.weightsBroadcast?.();
  }

  /** Each trained policy's spec under its id; every frozen network plays with the first trained policy's spec under its own. */
  policySpecs(): Record<string, PolicySpec> {
    const own = Object.fromEntries(this.policies.map((p) => [p.id, { ...p.algorithm.policySpecs()[DEFAULT_POLICY], policyId: p.id }]));
    const spec = own[this.trained];
    return { ...own, ...Object.fromEntries(Object.keys(this.frozen()).map((id) => [id, { ...spec, policyId: id }])) };
  }

  private frozen(): ParamsById {
    return { ...this.fixed, ...(this.league?.frozenParams() ?? {}) };
  }

  getParams(): ParamsById {
    return { ...Object.fromEntries(this.policies.map((p) => [p.id, p.algorithm.getParams()[DEFAULT_POLICY]])), ...this.frozen() };
  }

  /** Each trained policy's algorithm updates on the batches of its policy id (one without batches this time does not update). */
  async update(batches: TrajectoryBatch[], ctx: UpdateContext): Promise<Record<string, number>> {
    if (!this.several()) return this.policies[0].algorithm.update(batches, ctx);
    const out: Record<string, number> = {};
    for (const p of this.policies) {
      const mine = batches.filter((b) => b.policyId === p.id);
      if (mine.length === 0) continue;
      for (const [k, v] of Object.entries(await p.algorithm.update(mine, ctx))) out[`${p.id}/${k}`] = v;
    }
    return out;
  }

  async getState(): Promise<AlgorithmState> {
    const league: NamedTensor[] = Object.entries(this.league?.frozenParams() ?? {}).flatMap(([id, p]) => p.weights.map((w) => ({ ...w, name: `${LEAGUE_PREFIX}${id}/${w.name}` })));
    const leagueJson = this.league ? { [LEAGUE_KEY]: this.league.getState() } : {};
    if (!this.several()) {
      const s = await this.policies[0].algorithm.getState();
      return { tensors: [...renameWeights(s, DEFAULT_POLICY, this.trained), ...league], json: { ...s.json, ...leagueJson } };
    }
    const tensors: NamedTensor[] = [];
    const json: Record<string, unknown> = {};
    for (const p of this.policies) {
      const s = await p.algorithm.getState();
      const own = weightsFromState(s, DEFAULT_POLICY);
      const rest = s.tensors.filter((t) => !t.name.startsWith(`weights/${DEFAULT_POLICY}/`)).map((t) => ({ ...t, name: `${POLICY_PREFIX}${p.id}/${t.name}` }));
      tensors.push(...weightsToState(own, p.id), ...rest);
      json[p.id] = s.json;
    }
    return { tensors: [...tensors, ...league], json: { [POLICIES_KEY]: json, ...leagueJson } };
  }

  async setState(state: AlgorithmState): Promise<void> {
    const { [LEAGUE_KEY]: league, [POLICIES_KEY]: several, ...json } = state.json;
    if (!this.several()) {
      const rest = state.tensors.filter((t) => !t.name.startsWith('weights/') && !t.name.startsWith(LEAGUE_PREFIX));
      await this.policies[0].algorithm.setState({ tensors: [...weightsToState(weightsFromState(state, this.trained), DEFAULT_POLICY), ...rest], json });
    } else {
      const states = (several ?? {}) as Record<string, Record<string, unknown>>;
      for (const p of this.policies) {
        const prefix = `${POLICY_PREFIX}${p.id}/`;
        const rest = state.tensors.filter((t) => t.name.startsWith(prefix)).map((t) => ({ ...t, name: t.name.slice(prefix.length) }));
        await p.algorithm.setState({ tensors: [...weightsToState(weightsFromState(state, p.id), DEFAULT_POLICY), ...rest], json: states[p.id] ?? {} });
      }
    }
    if (this.league && league) {
      this.league.setState(league as LeagueState, (id) => ({ weights: checkpointWeights({ tensors: state.tensors.filter((t) => t.name.startsWith(LEAGUE_PREFIX)) }, id), scalars: {} }));
    }
  }

  dispose(): void {
    for (const p of this.policies) p.algorithm.dispose();
  }
}

/** A state's tensors with the weights of policy `from` renamed to policy `to`, the others as they are. */
function renameWeights(state: AlgorithmState, from: string, to: string): NamedTensor[] {
  const rest = state.tensors.filter((t) => !t.name.startsWith(`weights/${from}/`));
  return [...weightsToState(weightsFromState(state, from), to), ...rest];
}
