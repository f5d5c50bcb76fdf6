import { Box, Discrete, type MultiAgentEnv, type MultiAgentStepResult, type Rng } from 'rl-zmq';

const AGENTS = ['player_0', 'player_1'];

/** Nim: a pile of stones, each player in turn takes 1, 2 or 3; who takes the last one wins (+1, the other -1). */
export class Nim implements MultiAgentEnv {
  readonly possibleAgents = AGENTS;
  readonly observationSpaces: Record<string, Box> = {};
  readonly actionSpaces = { player_0: new Discrete(3), player_1: new Discrete(3) };
  /** `perfect` leaves the other player a multiple of 4 where it can (and takes 1 where it cannot). */
  readonly baselines = ['random', 'perfect'];
  private readonly size: number;
  private stones = 0;
  private toMove = 0;

  constructor(config: { stones?: number } = {}) {
    this.size = config.stones ?? 21;
    for (const a of AGENTS) this.observationSpaces[a] = new Box(0, 1, [this.size + 1]);
  }

  agents() {
    return this.stones > 0 ? AGENTS : [];
  }

  acting() {
    return this.stones > 0 ? [AGENTS[this.toMove]] : [];
  }

  reset() {
    [this.stones, this.toMove] = [this.size, 0];
    return { obs: this.observeAll(), infos: { player_0: {}, player_1: {} } };
  }

  step(actions: Record<string, number | Float32Array>): MultiAgentStepResult {
    const mover = AGENTS[this.toMove];
    this.stones -= Math.min(this.stones, (actions[mover] as number) + 1);
    const done = this.stones === 0;
    const rewards = { player_0: 0, player_1: 0 };
    if (done) [rewards[mover as 'player_0'], rewards[AGENTS[1 - this.toMove] as 'player_0']] = [1, -1];
    this.toMove = 1 - this.toMove;
    const flags = { player_0: done, player_1: done };
    return { obs: this.observeAll(), rewards, terminations: flags, truncations: { player_0: false, player_1: false }, infos: { player_0: {}, player_1: {} } };
  }

  /** Take k + 1 stones (k = 0, 1, 2) where the pile has them; nothing for the player not to move. */
  actionMask(agent: string): Uint8Array {
    const mine = this.stones > 0 && agent === AGENTS[this.toMove];
    return Uint8Array.from([0, 1, 2], (k) => (mine && k < this.stones ? 1 : 0));
  }

  baselineAction(name: string, _agent: string, rng: Rng): number {
    if (name === 'perfect' && this.stones % 4 !== 0) return (this.stones % 4) - 1;
    return rng.int(Math.min(3, this.stones));
  }

  close() {}

  /** One-hot of the stones left: the same from both sides. */
  private observeAll() {
    const obs = new Float32Array(this.size + 1);
    obs[this.stones] = 1;
    return { player_0: obs, player_1: obs.slice() };
  }
}
