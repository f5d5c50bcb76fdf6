import { SIZE, block, countCells, emptyMap, lightCell, lightMap, type GameAction, type MinAtarGame } from './game';

const SHOT_COOL_DOWN = 5;
const ENEMY_MOVE_INTERVAL = 12;
const ENEMY_SHOT_INTERVAL = 10;

export interface SpaceInvadersState {
  /** The cannon's column, on the bottom row. */
  pos: number;
  /** 10 x 10 maps, row-major, 1 where there is one. */
  aliens: number[];
  friendlyBullets: number[];
  enemyBullets: number[];
  /** -1 left, 1 right. */
  alienDir: number;
  /** Frames between alien moves for a full wave; ramps down from 12 to 6, one a cleared wave. */
  enemyMoveInterval: number;
  alienMoveTimer: number;
  alienShotTimer: number;
  shotTimer: number;
  rampIndex: number;
  terminal: boolean;
}

/**
 * MinAtar SpaceInvaders: the cannon on the bottom row moves left/right and fires (cool-down 5
 * frames) bullets that rise a row a frame; a 4 x 6 block of aliens marches sideways, moving down
 * a row and turning at an edge, every min(aliens left, interval) frames; every 10 frames the
 * lowest alien of the column nearest the cannon drops a bullet that falls a row a frame. Each
 * alien hit pays +1; a cleared wave comes back, faster with the difficulty ramp. The episode ends
 * when an alien or a bullet reaches the cannon, or an alien on the bottom row reaches an edge.
 * Channels: cannon, alien, alien_left, alien_right (the aliens again, in the plane of their
 * direction), friendly_bullet, enemy_bullet.
 */
export function spaceInvaders(ramping: boolean): MinAtarGame<SpaceInvadersState> {
  return {
    channels: ['cannon', 'alien', 'alien_left', 'alien_right', 'friendly_bullet', 'enemy_bullet'],
    minimalActions: ['n', 'l', 'r', 'f'],

    start: () => ({
      pos: 5,
      aliens: block(0, 4, 2, 8),
      friendlyBullets: emptyMap(),
      enemyBullets: emptyMap(),
      alienDir: -1,
      enemyMoveInterval: ENEMY_MOVE_INTERVAL,
      alienMoveTimer: ENEMY_MOVE_INTERVAL,
      alienShotTimer: ENEMY_SHOT_INTERVAL,
      shotTimer: 0,
      rampIndex: 0,
      terminal: false,
    }),

    act(s: SpaceInvadersState, a: GameAction): number {
      let reward = 0;
      if (a === 'f' && s.shotTimer === 0) {
        s.friendlyBullets[9 * SIZE + s.pos] = 1;
        s.shotTimer = SHOT_COOL_DOWN;
      } else if (a === 'l') s.pos = Math.max(0, s.pos - 1);
      else if (a === 'r') s.pos = Math.min(9, s.pos + 1);

      // Bullets move a row (numpy's roll, then the row that wrapped around is cleared).
      for (let i = 0; i < 9 * SIZE; i++) s.friendlyBullets[i] = s.friendlyBullets[i + SIZE];
      for (let i = 9 * SIZE; i < SIZE * SIZE; i++) s.friendlyBullets[i] = 0;
      for (let i = SIZE * SIZE - 1; i >= SIZE; i--) s.enemyBullets[i] = s.enemyBullets[i - SIZE];
      for (let i = 0; i < SIZE; i++) s.enemyBullets[i] = 0;
      if (s.enemyBullets[9 * SIZE + s.pos]) s.terminal = true;

      if (s.aliens[9 * SIZE + s.pos]) s.terminal = true;
      if (s.alienMoveTimer === 0) {
        s.alienMoveTimer = Math.min(countCells(s.aliens), s.enemyMoveInterval);
        if ((s.alienDir < 0 && anyInColumn(s.aliens, 0)) || (s.alienDir > 0 && anyInColumn(s.aliens, 9))) {
          s.alienDir = -s.alienDir;
          if (countCells(s.aliens.slice(9 * SIZE)) > 0) s.terminal = true;
          s.aliens = rollRows(s.aliens, 1); // as numpy's roll: a bottom-row alien wraps to the top (the episode is over then)
        } else {
          s.aliens = rollColumns(s.aliens, s.alienDir);
        }
        if (s.aliens[9 * SIZE + s.pos]) s.terminal = true;
      }
      if (s.alienShotTimer === 0) {
        s.alienShotTimer = ENEMY_SHOT_INTERVAL;
        s.enemyBullets[nearestAlien(s.aliens, s.pos)] = 1;
      }

      for (let i = 0; i < SIZE * SIZE; i++) {
        if (s.aliens[i] && s.friendlyBullets[i]) {
          reward += 1;
          s.aliens[i] = 0;
          s.friendlyBullets[i] = 0;
        }
      }

      if (s.shotTimer > 0) s.shotTimer -= 1;
      s.alienMoveTimer -= 1;
      s.alienShotTimer -= 1;
      if (countCells(s.aliens) === 0) {
        if (s.enemyMoveInterval > 6 && ramping) {
          s.enemyMoveInterval -= 1;
          s.rampIndex += 1;
        }
        block(0, 4, 2, 8, s.aliens);
      }
      return reward;
    },

    terminal: (s) => s.terminal,

    draw(s: SpaceInvadersState, obs: Uint8Array): void {
      lightCell(obs, 6, 9, s.pos, 0);
      lightMap(obs, 6, s.aliens, 1);
      lightMap(obs, 6, s.aliens, s.alienDir < 0 ? 2 : 3);
      lightMap(obs, 6, s.friendlyBullets, 4);
      lightMap(obs, 6, s.enemyBullets, 5);
    },
  };
}

/** numpy's `roll(map, shift, axis=0)`: rows move down by `shift`, wrapping around. */
function rollRows(map: readonly number[], shift: number): number[] {
  const out = emptyMap();
  for (let r = 0; r < SIZE; r++) for (let c = 0; c < SIZE; c++) out[(((r + shift) % SIZE + SIZE) % SIZE) * SIZE + c] = map[r * SIZE + c];
  return out;
}

/** numpy's `roll(map, shift, axis=1)`: columns move right by `shift`, wrapping around. */
function rollColumns(map: readonly number[], shift: number): number[] {
  const out = emptyMap();
  for (let r = 0; r < SIZE; r++) for (let c = 0; c < SIZE; c++) out[r * SIZE + (((c + shift) % SIZE) + SIZE) % SIZE] = map[r * SIZE + c];
  return out;
}

function anyInColumn(map: readonly number[], column: number): boolean {
  for (let r = 0; r < SIZE; r++) if (map[r * SIZE + column]) return true;
  return false;
}

/**
 * The cell of the alien that shoots: in the column nearest `pos` that has aliens (the left one
 * of two equally near, as the reference's stable sort has it), its lowest alien.
 */
function nearestAlien(aliens: readonly number[], pos: number): number {
  for (let d = 0; d < SIZE; d++) {
    for (const c of d === 0 ? [pos] : [pos - d, pos + d]) {
      if (c < 0 || c >= SIZE) continue;
      for (let r = SIZE - 1; r >= 0; r--) if (aliens[r * SIZE + c]) return r * SIZE + c;
    }
  }
  throw new Error('SpaceInvaders: no alien left to shoot (a cleared wave is replaced within the frame)');
}
