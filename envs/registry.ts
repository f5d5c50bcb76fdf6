import { closest } from 'fastest-levenshtein';
import { EnvError } from '../core/errors';
import type { Env, EnvFactory } from './env';
import type { MultiAgentEnv, MultiAgentEnvFactory } from './multi-agent';
import { ConnectFour, ConnectFourParallel } from './connect-four';
import { SpreadLine } from './spread-line';
import { Acrobot } from './acrobot';
import { CartPole } from './cartpole';
import { Catch } from './catch';
import { LunarLander } from './lunar-lander';
import { MINATAR_GAMES, MinAtarEnv } from './minatar';
import { MountainCar } from './mountain-car';
import { MountainCarContinuous } from './mountain-car-continuous';
import { Pendulum } from './pendulum';
import { Snake } from './snake';
import { TicTacToe } from './tictactoe';
import { TimeLimit } from './time-limit';
import { MaskObservation } from './wrappers';

/** A registered env: its id, its factory and Gymnasium's metadata. */
export interface EnvSpec {
  /** The id configs name in `env.id` (`CartPole-v1`). */
  id: string;
  /** Builds one env from the config's `env.config`. */
  factory: EnvFactory;
  /** Episodes are truncated after this many steps (Gymnasium's `max_episode_steps`). */
  maxEpisodeSteps?: number;
  /** The return at which the task counts as solved. */
  rewardThreshold?: number;
  /** Frames a second a video of it plays at (Gymnasium's `metadata["render_fps"]`). */
  renderFps?: number;
}

const registry = new Map<string, EnvSpec>();

/** Adds an env to the registry under `id` (an EnvError if taken), for configs (`env.id`) and `makeEnv`. */
export function registerEnv(id: string, factory: EnvFactory, opts: { maxEpisodeSteps?: number; rewardThreshold?: number; renderFps?: number } = {}): void {
  if (registry.has(id)) throw new EnvError(`env id "${id}" is already registered`);
  registry.set(id, { id, factory, ...opts });
}

/** The registered env `id`; an EnvError naming the closest id when there is none. */
export function envSpec(id: string): EnvSpec {
  const spec = registry.get(id);
  if (!spec) {
    const ids = listEnvs().map((e) => e.id);
    const hint = ids.length > 0 ? `did you mean "${closest(id, ids)}"? ` : '';
    throw new EnvError(`unknown env id "${id}"; ${hint}Registered: ${ids.join(', ')} (see \`rl envs\`)`);
  }
  return spec;
}

/** Builds a registered env, wrapped in its time limit. */
export function makeEnv(id: string, config: Record<string, unknown> = {}): Env {
  const spec = envSpec(id);
  const env = withClose(spec.factory(config));
  return spec.maxEpisodeSteps ? new TimeLimit(env, spec.maxEpisodeSteps) : env;
}

/**
 * `close()` is optional for an env of the user's, as in Gymnasium's base class (whose close
 * does nothing): one without it gets a no-op, so that the runtime may always call it.
 */
export function withClose(env: Env): Env {
  if (env && typeof (env as Partial<Env>).close !== 'function') (env as { close: () => void }).close = () => {};
  return env;
}

/** Every registered env, by id (what `rl envs` prints). */
export function listEnvs(): EnvSpec[] {
  return [...registry.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** A registered multi-agent env: its id and its factory. */
export interface MultiAgentEnvSpec {
  /** The id a config names (`ConnectFour-v0`); it may also name a single-agent view of the same game in the other registry. */
  id: string;
  /** Builds one env from the config's `env.config`. */
  factory: MultiAgentEnvFactory;
  /** Frames a second a video of it plays at. */
  renderFps?: number;
}

const multiAgentRegistry = new Map<string, MultiAgentEnvSpec>();

/** Adds a multi-agent env under `id` (an EnvError if taken); single-agent ids are a separate registry. */
export function registerMultiAgentEnv(id: string, factory: MultiAgentEnvFactory, opts: { renderFps?: number } = {}): void {
  if (multiAgentRegistry.has(id)) throw new EnvError(`multi-agent env id "${id}" is already registered`);
  multiAgentRegistry.set(id, { id, factory, ...opts });
}

/** Builds the registered multi-agent env `id`; an EnvError naming the closest id when there is none. */
export function makeMultiAgentEnv(id: string, config: Record<string, unknown> = {}): MultiAgentEnv {
  const spec = multiAgentRegistry.get(id);
  if (!spec) {
    const ids = listMultiAgentEnvs().map((e) => e.id);
    throw new EnvError(`unknown multi-agent env id "${id}"; did you mean "${closest(id, ids)}"? Registered: ${ids.join(', ')} (see \`rl envs\`)`);
  }
  return spec.factory(config);
}

/** Every registered multi-agent env, by id (`rl envs` lists them apart). */
export function listMultiAgentEnvs(): MultiAgentEnvSpec[] {
  return [...multiAgentRegistry.values()].sort((a, b) => a.id.localeCompare(b.id));
}

// The built-in environments, registered wherever the registry is used.
registerEnv('CartPole-v1', () => new CartPole(), { maxEpisodeSteps: 500, rewardThreshold: 475, renderFps: 50 });
registerEnv('MountainCar-v0', () => new MountainCar(), { maxEpisodeSteps: 200, rewardThreshold: -110, renderFps: 30 });
registerEnv('MountainCarContinuous-v0', () => new MountainCarContinuous(), { maxEpisodeSteps: 999, rewardThreshold: 90, renderFps: 30 });
registerEnv('Pendulum-v1', () => new Pendulum(), { maxEpisodeSteps: 200, renderFps: 30 });
// Velocities hidden (zeroed, as the SB3 zoo's MaskVelocityWrapper): memory is needed (recurrent policies, issue 26).
registerEnv('CartPoleNoVel-v1', () => new MaskObservation(new CartPole(), [1, 3]), { maxEpisodeSteps: 500, rewardThreshold: 475, renderFps: 50 });
registerEnv('PendulumNoVel-v1', () => new MaskObservation(new Pendulum(), [2]), { maxEpisodeSteps: 200, renderFps: 30 });
registerEnv('Acrobot-v1', () => new Acrobot(), { maxEpisodeSteps: 500, rewardThreshold: -100, renderFps: 15 });
registerEnv('LunarLander-v3', () => new LunarLander(), { maxEpisodeSteps: 1000, rewardThreshold: 200, renderFps: 50 });
registerEnv('LunarLanderContinuous-v3', () => new LunarLander({ continuous: true }), { maxEpisodeSteps: 1000, rewardThreshold: 200, renderFps: 50 });
registerEnv('Catch', () => new Catch(), { rewardThreshold: 0.9, renderFps: 10 });
// Snake-v0's threshold is measured, on the default 8 x 8 board: configs/ppo-snake.yaml's kept policies
// score 7.2 / 5.7 / 6.5 over 100 greedy episodes on seeds 0 / 1 / 2 (docs/benchmarks.md, "solve-suite").
registerEnv('Snake-v0', (config) => new Snake(config), { maxEpisodeSteps: 1000, rewardThreshold: 5, renderFps: 10 });
// Against a built-in opponent (env.config.opponent: random or lookahead); a game is at most 5 of the agent's moves,
// so it needs no time limit. It has action masks (the empty cells). 2 fps: a move every half second.
registerEnv('TicTacToe-v0', (config) => new TicTacToe(config), { renderFps: 2 });
// MinAtar (Young & Tian 2019), as its Gymnasium registration (minatar/gym.py) has them: -v0 with
// all six actions, -v1 with the game's minimal action set; no reward threshold. It sets no max_episode_steps, where only Freeway ends by itself
// (after 2,500 frames): a 10,000-step limit keeps a policy that never loses from playing (and
// being evaluated) forever. 20 fps: the reference displays a frame for 50 ms.
// -v1: the game's minimal action set, as minatar/gym.py registers it.
for (const [name, game] of Object.entries(MINATAR_GAMES)) {
  for (const [version, minimal] of [['v0', false], ['v1', true]] as const) {
    const id = `MinAtar/${name}-${version}`;
    registerEnv(id, (config) => new MinAtarEnv(id, game, config, minimal), { maxEpisodeSteps: 10_000, renderFps: 20 });
  }
}
// Connect Four: the two-player game as PettingZoo's connect_four_v3 (multi-agent: player_0 and player_1),
// and under the same id a single-agent view against a built-in opponent (env.config.opponent: random or
// minimax). A game is at most 42 moves, so it needs no time limit. 2 fps: a move every half second.
registerEnv('ConnectFour-v0', (config) => new ConnectFour(config), { renderFps: 2 });
registerMultiAgentEnv('ConnectFour-v0', (config) => new ConnectFourParallel(config), { renderFps: 2 });
registerMultiAgentEnv('SpreadLine-v0', (config) => new SpreadLine(config));
