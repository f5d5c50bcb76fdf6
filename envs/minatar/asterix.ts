import type { Rng } from '../../core/rng';
import { lightCell, type GameAction, type MinAtarGame } from './game';

const RAMP_INTERVAL = 100;
const INIT_SPAWN_SPEED = 10;
const INIT_MOVE_INTERVAL = 5;

/** An enemy or a piece of gold, in row `y` (its slot + 1), moving right or left. */
interface Entity {
  x: number;
  y: number;
  right: boolean;
  gold: boolean;
}

export interface AsterixState {
  playerX: number;
  playerY: number;
  /** Eight slots, one a row (rows 1-8); null where the row is empty. */
  entities: (Entity | null)[];
  spawnSpeed: number;
  spawnTimer: number;
  moveSpeed: number;
  moveTimer: number;
  rampTimer: number;
  rampIndex: number;
  terminal: boolean;
}

/**
 * MinAtar Asterix: the player moves in the four directions (rows 1-8); enemies and gold (one in
 * three) appear at either side in a free row and cross it. Gold pays +1 when the player meets
 * it; an enemy ends the episode. Entities move one cell every `moveSpeed` frames and appear
 * every `spawnSpeed` frames; with the difficulty ramp, every 102 frames the spawn speed goes
 * down by one and, every other time, the move speed too, to 1 each. Channels: player, enemy,
 * trail (the cell each entity came from), gold.
 */
export function asterix(ramping: boolean): MinAtarGame<AsterixState> {
  /** The player meets the entity of slot `i`: gold pays 1 and goes, an enemy ends the game. */
  const meet = (s: AsterixState, i: number): number => {
    if (s.entities[i]!.gold) {
      s.entities[i] = null;
      return 1;
    }
    s.terminal = true;
    return 0;
  };
  const at = (e: Entity | null, s: AsterixState): e is Entity => e !== null && e.x === s.playerX && e.y === s.playerY;

  return {
    channels: ['player', 'enemy', 'trail', 'gold'],
    minimalActions: ['n', 'l', 'u', 'r', 'd'],

    start: () => ({
      playerX: 5,
      playerY: 5,
      entities: new Array<Entity | null>(8).fill(null),
      spawnSpeed: INIT_SPAWN_SPEED,
      spawnTimer: INIT_SPAWN_SPEED,
      moveSpeed: INIT_MOVE_INTERVAL,
      moveTimer: INIT_MOVE_INTERVAL,
      rampTimer: RAMP_INTERVAL,
      rampIndex: 0,
      terminal: false,
    }),

    act(s: AsterixState, a: GameAction, rng: Rng): number {
      let reward = 0;
      if (s.spawnTimer === 0) {
        spawn(s, rng);
        s.spawnTimer = s.spawnSpeed;
      }
      if (a === 'l') s.playerX = Math.max(0, s.playerX - 1);
      else if (a === 'r') s.playerX = Math.min(9, s.playerX + 1);
      else if (a === 'u') s.playerY = Math.max(1, s.playerY - 1);
      else if (a === 'd') s.playerY = Math.min(8, s.playerY + 1);

      for (let i = 0; i < s.entities.length; i++) if (at(s.entities[i], s)) reward += meet(s, i);
      if (s.moveTimer === 0) {
        s.moveTimer = s.moveSpeed;
        for (let i = 0; i < s.entities.length; i++) {
          const e = s.entities[i];
          if (e === null) continue;
          e.x += e.right ? 1 : -1;
          if (e.x < 0 || e.x > 9) s.entities[i] = null;
          else if (at(e, s)) reward += meet(s, i);
        }
      }
      s.spawnTimer -= 1;
      s.moveTimer -= 1;

      if (ramping && (s.spawnSpeed > 1 || s.moveSpeed > 1)) {
        if (s.rampTimer >= 0) s.rampTimer -= 1;
        else {
          if (s.moveSpeed > 1 && s.rampIndex % 2) s.moveSpeed -= 1;
          if (s.spawnSpeed > 1) s.spawnSpeed -= 1;
          s.rampIndex += 1;
          s.rampTimer = RAMP_INTERVAL;
        }
      }
      return reward;
    },

    terminal: (s) => s.terminal,

    draw(s: AsterixState, obs: Uint8Array): void {
      lightCell(obs, 4, s.playerY, s.playerX, 0);
      for (const e of s.entities) {
        if (e === null) continue;
        lightCell(obs, 4, e.y, e.x, e.gold ? 3 : 1);
        const back = e.right ? e.x - 1 : e.x + 1;
        if (back >= 0 && back <= 9) lightCell(obs, 4, e.y, back, 2);
      }
    },
  };
}

/** A new entity at a side, in a random free slot; the side and kind are drawn even when no slot is free, as the reference does. */
function spawn(s: AsterixState, rng: Rng): void {
  const right = rng.random() < 1 / 2;
  const gold = rng.random() < 1 / 3;
  const free = s.entities.flatMap((e, i) => (e === null ? [i] : []));
  if (free.length === 0) return;
  const slot = free[rng.int(free.length)];
  s.entities[slot] = { x: right ? 0 : 9, y: slot + 1, right, gold };
}
