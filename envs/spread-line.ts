import { closest } from 'fastest-levenshtein';
import { EnvError } from '../core/errors';
import { Rng } from '../core/rng';
import { Box, Discrete } from '../core/spaces';
import type { Action, ResetOptions } from './env';
import type { AgentId, MultiAgentEnv, MultiAgentResetResult, MultiAgentStepResult, PerAgent } from './multi-agent';

const ID = 'SpreadLine-v0';
const AGENTS = ['agent_0', 'agent_1'] as const;
/** Moves: left, stay, right. */
const MOVES = [-1, 0, 1];

/** `env.config` of SpreadLine-v0. */
export interface SpreadLineConfig {
  /** Cells on the line, 3 to 32. Default 7. */
  cells?: number;
  /** Steps an episode lasts (then both agents are truncated), 1 to 1000. Default 12. */
  steps?: number;
}

/** The whole state, for checkpoints. */
interface SpreadLineState {
  positions: number[];
  landmarks: number[];
  t: number;
  rng: number[];
}

/**
 * A cooperative simultaneous-move game, the one-dimensional cousin of the MPE's "simple spread":
 * two agents and two landmarks on a line of `cells` cells, drawn apart at each reset. Every step
 * both agents move at once (left, stay, right; a wall stops them) and share one reward: minus
 * the distance from each landmark to the agent nearest it, summed over the landmarks and divided
 * by `cells`. Covering both landmarks (one agent on each) pays 0; both agents on one landmark
 * leave the other uncovered. An episode lasts `steps` steps, then both are truncated. Each
 * agent observes three one-hot lines of `cells` (its own position, the other agent's, the
 * landmarks) and its index, one-hot of 2 (so that one greedy policy playing both can still
 * send them different ways from one cell). Its built-in players: `random`, and `greedy` (each agent walks to the landmark
 * nearest itself: both may pick the same one, which learned play avoids).
 */
export class SpreadLine implements MultiAgentEnv {
  readonly possibleAgents: readonly AgentId[] = AGENTS;
  readonly observationSpaces: PerAgent<Box>;
  readonly actionSpaces: PerAgent<Discrete> = { agent_0: new Discrete(3), agent_1: new Discrete(3) };
  readonly baselines: readonly string[] = ['random', 'greedy'];
  private readonly cells: number;
  private readonly steps: number;
  private positions = [0, 0];
  private landmarks = [0, 0];
  private t = 0;
  private over = true;
  private rng = new Rng(0);

  constructor(config: Record<string, unknown> = {}) {
    const known = ['cells', 'steps'];
    for (const [key, value] of Object.entries(config)) {
      if (!known.includes(key)) throw new EnvError(`${ID}: unknown config key "${key}"; did you mean "${closest(key, known)}"? Known keys: ${known.join(', ')}`);
      const [lo, hi] = key === 'cells' ? [3, 32] : [1, 1000];
      if (!Number.isInteger(value) || (value as number) < lo || (value as number) > hi) throw new EnvError(`${ID}: config.${key} must be a whole number from ${lo} to ${hi}, got ${JSON.stringify(value)}`);
    }
    const c = config as SpreadLineConfig;
    [this.cells, this.steps] = [c.cells ?? 7, c.steps ?? 12];
    const space = new Box(0, 1, [3 * this.cells + 2]);
    this.observationSpaces = { agent_0: space, agent_1: space };
  }

  agents(): readonly AgentId[] {
    return this.over ? [] : AGENTS;
  }

  acting(): readonly AgentId[] {
    return this.agents();
  }

  reset(opts: ResetOptions = {}): MultiAgentResetResult {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    const first = this.rng.int(this.cells);
    const second = (first + 1 + this.rng.int(this.cells - 1)) % this.cells;
    this.landmarks = [first, second];
    this.positions = [this.rng.int(this.cells), this.rng.int(this.cells)];
    [this.t, this.over] = [0, false];
    return { obs: this.observeAll(), infos: { agent_0: {}, agent_1: {} } };
  }

  step(actions: PerAgent<Action>): MultiAgentStepResult {
    if (this.over) throw new RangeError(`${ID}: step() after the episode ended; call reset()`);
    AGENTS.forEach((agent, i) => {
      const a = actions[agent];
      if (!this.actionSpaces[agent].contains(a)) throw new EnvError(`${ID}: ${agent}'s action must be 0 (left), 1 (stay) or 2 (right), got ${String(a)}`, { field: 'actions' });
      this.positions[i] = Math.min(this.cells - 1, Math.max(0, this.positions[i] + MOVES[a as number]));
    });
    this.t += 1;
    const reward = this.uncovered() === 0 ? 0 : -this.uncovered() / this.cells; // never -0
    const done = this.t >= this.steps;
    if (done) this.over = true;
    return { obs: this.observeAll(), rewards: { agent_0: reward, agent_1: reward }, terminations: { agent_0: false, agent_1: false }, truncations: { agent_0: done, agent_1: done }, infos: { agent_0: {}, agent_1: {} } };
  }

  /** `greedy`: a step toward the landmark nearest `agent` (the lower one on a tie); `random`: any move. */
  baselineAction(name: string, agent: AgentId, rng: Rng): Action {
    if (name === 'random') return rng.int(3);
    if (name !== 'greedy') throw new EnvError(`${ID}: no built-in player "${name}"; the built-in players are ${this.baselines.join(', ')}`, { field: 'name' });
    const p = this.positions[AGENTS.indexOf(agent as (typeof AGENTS)[number])];
    const target = this.landmarks.reduce((best, l) => (Math.abs(l - p) < Math.abs(best - p) || (Math.abs(l - p) === Math.abs(best - p) && l < best) ? l : best));
    return 1 + Math.sign(target - p);
  }

  close(): void {}

  getState(): unknown {
    const s: SpreadLineState = { positions: [...this.positions], landmarks: [...this.landmarks], t: this.t, rng: this.rng.getState() };
    return s;
  }

  setState(saved: unknown): void {
    const s = saved as SpreadLineState;
    [this.positions, this.landmarks, this.t, this.over] = [[...s.positions], [...s.landmarks], s.t, s.t >= this.steps];
    this.rng.setState(s.rng);
  }

  /** The landmarks' distances to the agent nearest each, summed. */
  private uncovered(): number {
    return this.landmarks.reduce((sum, l) => sum + Math.min(...this.positions.map((p) => Math.abs(p - l))), 0);
  }

  private observeAll(): PerAgent<Float32Array> {
    const observe = (i: number) => {
      const obs = new Float32Array(3 * this.cells + 2);
      obs[this.positions[i]] = 1;
      obs[this.cells + this.positions[1 - i]] = 1;
      for (const l of this.landmarks) obs[2 * this.cells + l] = 1;
      obs[3 * this.cells + i] = 1;
      return obs;
    };
    return { agent_0: observe(0), agent_1: observe(1) };
  }
}
