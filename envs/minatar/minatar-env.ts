import { closest } from 'fastest-levenshtein';
import { EnvError } from '../../core/errors';
import { Box, Discrete } from '../../core/spaces';
import { Rng } from '../../core/rng';
import type { Action, Env, ResetOptions, ResetResult, RgbFrame, StepResult } from '../env';
import { ACTIONS, SIZE, type GameAction, type MinAtarGame } from './game';

const ACTION_NAMES: Record<GameAction, string> = { n: 'no-op', l: 'left', u: 'up', r: 'right', d: 'down', f: 'fire' };
import { minatarPalette, renderMinAtar } from './render';
import type { Rgb } from '../draw';

/** An env's config (`env.config` in a run's YAML), as the reference's `Environment` takes it. */
export interface MinAtarConfig {
  /** The chance that a step repeats the previous action instead of the chosen one (`sticky_action_prob`). */
  stickyActionProb?: number;
  /** Whether the games that ramp (Asterix, Seaquest, SpaceInvaders) get harder as they go (`difficulty_ramping`). */
  difficultyRamping?: boolean;
}

const KEYS = ['stickyActionProb', 'difficultyRamping'];

/** The whole state, for checkpoints: the game's, the last action and the generator. */
interface SavedState {
  game: unknown;
  lastAction: number;
  started: boolean;
  rng: number[];
}

/**
 * A MinAtar game (Young & Tian 2019) as an env, as the reference's `Environment` and its
 * Gymnasium wrapper run it: `MinAtar/<Game>-v0` takes all six actions (0 no-op, 1 left, 2 up,
 * 3 right, 4 down, 5 fire), `-v1` only those that do something in the game (its
 * `minimal_action_set`, in that order: Breakout's are no-op, left, right); each step, with probability `stickyActionProb` (0.1), the previous
 * action is taken instead (the previous action carries over from one episode to the next, as
 * in the reference, and starts as 0); the observation is the game's 10 x 10 x n binary planes
 * as a uint8 Box. One generator, seeded by `reset({ seed })`, draws both the sticky actions and
 * the game's randomness.
 */
export class MinAtarEnv implements Env {
  readonly actionSpace: Discrete;
  readonly observationSpace: Box;
  /** The chance that a step repeats the previous action instead of the one given (the reference's `sticky_action_prob`). */
  readonly stickyActionProb: number;
  /** Whether the game speeds up as it goes on (the reference's `difficulty_ramping`). */
  readonly difficultyRamping: boolean;
  private readonly game: MinAtarGame;
  /** The game's actions this env's action i stands for: all six, or the minimal set. */
  private readonly actions: readonly GameAction[];
  /** Each of this env's actions as an index into all six (what the sticky action remembers). */
  private readonly fullIndex: readonly number[];
  private readonly palette: Rgb[];
  private rng = new Rng(0);
  private state: unknown;
  private lastAction = 0;
  /** False before the first reset: step() needs one. */
  private started = false;

  constructor(
    /** The registered id, `MinAtar/<Game>-v0` (or `-v1`), named in its errors. */
    readonly id: string,
    makeGame: (ramping: boolean) => MinAtarGame,
    config: Record<string, unknown> = {},
    /** Only the game's minimal action set (the `-v1` registrations), not all six. */
    minimalActions = false,
  ) {
    for (const key of Object.keys(config)) {
      if (!KEYS.includes(key)) throw new EnvError(`${id}: unknown config key "${key}"; did you mean "${closest(key, KEYS)}"? Known keys: ${KEYS.join(', ')}`);
    }
    const { stickyActionProb = 0.1, difficultyRamping = true } = config as MinAtarConfig;
    if (typeof stickyActionProb !== 'number' || !(stickyActionProb >= 0 && stickyActionProb <= 1)) {
      throw new EnvError(`${id}: config.stickyActionProb must be a number from 0 to 1, got ${JSON.stringify(stickyActionProb)}`);
    }
    if (typeof difficultyRamping !== 'boolean') throw new EnvError(`${id}: config.difficultyRamping must be true or false, got ${JSON.stringify(difficultyRamping)}`);
    this.stickyActionProb = stickyActionProb;
    this.difficultyRamping = difficultyRamping;
    this.game = makeGame(difficultyRamping);
    this.actions = minimalActions ? this.game.minimalActions : ACTIONS;
    this.actionSpace = new Discrete(this.actions.length);
    this.fullIndex = this.actions.map((a) => ACTIONS.indexOf(a));
    this.observationSpace = new Box(0, 1, [SIZE, SIZE, this.game.channels.length], 'uint8');
    this.palette = minatarPalette(this.game.channels.length);
  }

  /** The observation's channels, by name, in order. */
  get channels(): readonly string[] {
    return this.game.channels;
  }

  reset(opts: ResetOptions = {}): ResetResult {
    if (opts.seed !== undefined) this.rng = new Rng(opts.seed);
    this.state = this.game.start(this.rng);
    this.started = true;
    return { obs: this.observe(), info: {} };
  }

  step(action: Action): StepResult {
    if (!this.actionSpace.contains(action)) throw new RangeError(`${this.id}: action ${String(action)} is not in ${this.actionSpace} (${this.actions.map((a, i) => `${i} ${ACTION_NAMES[a]}`).join(', ')})`);
    if (!this.started || this.game.terminal(this.state)) throw new Error(`${this.id}: step() called before reset() or after the episode terminated; call reset() first`);
    // As the reference: a draw every step, whatever the probability, so that the game's draws
    // follow the same stream. The last action is one of all six, as the reference keeps it.
    const taken = this.rng.random() < this.stickyActionProb ? this.lastAction : this.fullIndex[action as number];
    this.lastAction = taken;
    const reward = this.game.act(this.state, ACTIONS[taken], this.rng);
    return { obs: this.observe(), reward, terminated: this.game.terminal(this.state), truncated: false, info: {} };
  }

  close(): void {}

  /** The board as MinAtar's GUI draws it, 32 pixels a cell (320 x 320). */
  render(): RgbFrame {
    return renderMinAtar(this.started ? this.observe() : new Uint8Array(this.observationSpace.size), this.palette);
  }

  getState(): unknown {
    const saved: SavedState = { game: structuredClone(this.state), lastAction: this.lastAction, started: this.started, rng: this.rng.getState() };
    return saved;
  }

  setState(saved: unknown): void {
    const s = saved as SavedState;
    this.state = structuredClone(s.game);
    this.lastAction = s.lastAction;
    this.started = s.started;
    this.rng.setState(s.rng);
  }

  private observe(): Uint8Array {
    const obs = new Uint8Array(this.observationSpace.size);
    this.game.draw(this.state, obs);
    return obs;
  }
}
