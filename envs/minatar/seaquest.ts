import type { Rng } from '../../core/rng';
import { lightCell, type GameAction, type MinAtarGame } from './game';

const MAX_OXYGEN = 200;
const INIT_SPAWN_SPEED = 20;
const DIVER_SPAWN_SPEED = 30;
const INIT_MOVE_INTERVAL = 5;
const SHOT_COOL_DOWN = 5;
const ENEMY_SHOT_INTERVAL = 10;
const DIVER_MOVE_INTERVAL = 5;

/** [x, y, right]: a bullet. */
type Bullet = [number, number, boolean];
/** [x, y, right, moveTimer]: a fish or a diver. */
type Swimmer = [number, number, boolean, number];
/** [x, y, right, moveTimer, shotTimer]: an enemy submarine. */
type EnemySub = [number, number, boolean, number, number];

export interface SeaquestState {
  oxygen: number;
  /** Divers on board; as in the reference, surfacing with six leaves -1 (see docs/envs/minatar.md). */
  diverCount: number;
  subX: number;
  subY: number;
  /** The submarine faces right. */
  subRight: boolean;
  friendlyBullets: Bullet[];
  enemyBullets: Bullet[];
  fish: Swimmer[];
  enemySubs: EnemySub[];
  divers: Swimmer[];
  spawnSpeed: number;
  spawnTimer: number;
  diverSpawnTimer: number;
  moveSpeed: number;
  rampIndex: number;
  shotTimer: number;
  /** The submarine has been at the surface since it last surfaced. */
  surface: boolean;
  terminal: boolean;
}

/**
 * MinAtar Seaquest: the player's two-cell submarine moves in four directions (rows 0-8) and fires
 * sideways (cool-down 5 frames). Fish and enemy submarines cross the rows (a new one every
 * `spawnSpeed` frames, none in a row where another goes the other way); enemy submarines fire
 * every 11 frames. Hitting either pays +1. Divers cross too; touching one takes it on board (six
 * at most). Oxygen (200) runs down below the surface; surfacing with a diver refills it and drops
 * a diver, with six drops them all and pays oxygen / 20; surfacing with none, running out of
 * oxygen, or meeting an enemy or its bullet ends the episode. With the difficulty ramp, each
 * surfacing makes enemies appear (to every frame) and move (to every 3 frames) more often.
 * Channels: sub_front, sub_back, friendly_bullet, trail, enemy_bullet, enemy_fish, enemy_sub,
 * oxygen_guage, diver_guage, diver.
 *
 * The reference keeps its things in Python lists that it walks backwards while removing items
 * by value (`list.remove`, the first equal item); `walkBack` and `removeEqual` do the same, so
 * that even when two things are equal the same one goes.
 */
export function seaquest(ramping: boolean): MinAtarGame<SeaquestState> {
  const atSub = (s: SeaquestState, t: readonly unknown[]) => t[0] === s.subX && t[1] === s.subY;

  /** Surfacing with at least one diver: the oxygen bonus (with six), full oxygen, a diver less, the ramp. */
  const surface = (s: SeaquestState): number => {
    s.surface = true;
    let reward = 0;
    if (s.diverCount === 6) {
      s.diverCount = 0;
      reward = Math.floor((s.oxygen * 10) / MAX_OXYGEN);
    }
    s.oxygen = MAX_OXYGEN;
    s.diverCount -= 1;
    if (ramping && (s.spawnSpeed > 1 || s.moveSpeed > 2)) {
      if (s.moveSpeed > 2 && s.rampIndex % 2) s.moveSpeed -= 1;
      if (s.spawnSpeed > 1) s.spawnSpeed -= 1;
      s.rampIndex += 1;
    }
    return reward;
  };

  return {
    channels: ['sub_front', 'sub_back', 'friendly_bullet', 'trail', 'enemy_bullet', 'enemy_fish', 'enemy_sub', 'oxygen_guage', 'diver_guage', 'diver'],
    minimalActions: ['n', 'l', 'u', 'r', 'd', 'f'],

    start: () => ({
      oxygen: MAX_OXYGEN,
      diverCount: 0,
      subX: 5,
      subY: 0,
      subRight: false,
      friendlyBullets: [],
      enemyBullets: [],
      fish: [],
      enemySubs: [],
      divers: [],
      spawnSpeed: INIT_SPAWN_SPEED,
      spawnTimer: INIT_SPAWN_SPEED,
      diverSpawnTimer: DIVER_SPAWN_SPEED,
      moveSpeed: INIT_MOVE_INTERVAL,
      rampIndex: 0,
      shotTimer: 0,
      surface: true,
      terminal: false,
    }),

    act(s: SeaquestState, a: GameAction, rng: Rng): number {
      let reward = 0;
      if (s.spawnTimer === 0) {
        spawnEnemy(s, rng);
        s.spawnTimer = s.spawnSpeed;
      }
      if (s.diverSpawnTimer === 0) {
        const right = rng.random() < 1 / 2;
        s.divers.push([right ? 0 : 9, 1 + rng.int(8), right, DIVER_MOVE_INTERVAL]);
        s.diverSpawnTimer = DIVER_SPAWN_SPEED;
      }

      if (a === 'f' && s.shotTimer === 0) {
        s.friendlyBullets.push([s.subX, s.subY, s.subRight]);
        s.shotTimer = SHOT_COOL_DOWN;
      } else if (a === 'l') {
        s.subX = Math.max(0, s.subX - 1);
        s.subRight = false;
      } else if (a === 'r') {
        s.subX = Math.min(9, s.subX + 1);
        s.subRight = true;
      } else if (a === 'u') s.subY = Math.max(0, s.subY - 1);
      else if (a === 'd') s.subY = Math.min(8, s.subY + 1);

      walkBack(s.friendlyBullets, (bullet) => {
        bullet[0] += bullet[2] ? 1 : -1;
        if (bullet[0] < 0 || bullet[0] > 9) {
          removeEqual(s.friendlyBullets, bullet);
          return;
        }
        const fish = s.fish.find((f) => sameCell(bullet, f));
        const sub = fish ? undefined : s.enemySubs.find((e) => sameCell(bullet, e));
        if (fish) removeEqual(s.fish, fish);
        else if (sub) removeEqual(s.enemySubs, sub);
        if (fish || sub) {
          removeEqual(s.friendlyBullets, bullet);
          reward += 1;
        }
      });

      walkBack(s.divers, (diver) => {
        if (atSub(s, diver) && s.diverCount < 6) {
          removeEqual(s.divers, diver);
          s.diverCount += 1;
        } else if (diver[3] === 0) {
          diver[3] = DIVER_MOVE_INTERVAL;
          diver[0] += diver[2] ? 1 : -1;
          if (diver[0] < 0 || diver[0] > 9) removeEqual(s.divers, diver);
          else if (atSub(s, diver) && s.diverCount < 6) {
            removeEqual(s.divers, diver);
            s.diverCount += 1;
          }
        } else diver[3] -= 1;
      });

      walkBack(s.enemySubs, (sub) => {
        reward += moveEnemy(s, s.enemySubs, sub);
        // A submarine fires on time even in the frame it left the board or was hit (as the reference).
        if (sub[4] === 0) {
          sub[4] = ENEMY_SHOT_INTERVAL;
          s.enemyBullets.push([sub[0], sub[1], sub[2]]);
        } else sub[4] -= 1;
      });

      walkBack(s.enemyBullets, (bullet) => {
        if (atSub(s, bullet)) s.terminal = true;
        bullet[0] += bullet[2] ? 1 : -1;
        if (bullet[0] < 0 || bullet[0] > 9) removeEqual(s.enemyBullets, bullet);
        else if (atSub(s, bullet)) s.terminal = true;
      });

      walkBack(s.fish, (fish) => {
        reward += moveEnemy(s, s.fish, fish);
      });

      if (s.spawnTimer > 0) s.spawnTimer -= 1;
      if (s.diverSpawnTimer > 0) s.diverSpawnTimer -= 1;
      if (s.shotTimer > 0) s.shotTimer -= 1;
      if (s.oxygen <= 0) s.terminal = true;
      if (s.subY > 0) {
        s.oxygen -= 1;
        s.surface = false;
      } else if (!s.surface) {
        if (s.diverCount === 0) s.terminal = true;
        else reward += surface(s);
      }
      return reward;
    },

    terminal: (s) => s.terminal,

    draw(s: SeaquestState, obs: Uint8Array): void {
      const n = 10;
      lightCell(obs, n, s.subY, s.subX, 0);
      lightCell(obs, n, s.subY, (s.subX + (s.subRight ? -1 : 1) + 10) % 10, 1);
      for (let c = 0; c < Math.floor((Math.max(0, s.oxygen) * 10) / MAX_OXYGEN); c++) lightCell(obs, n, 9, c, 7);
      for (let c = Math.max(0, 9 - s.diverCount); c < 9; c++) lightCell(obs, n, 9, c, 8);
      for (const b of s.friendlyBullets) lightCell(obs, n, b[1], b[0], 2);
      for (const b of s.enemyBullets) lightCell(obs, n, b[1], b[0], 4);
      const withTrail = (t: Swimmer | EnemySub, channel: number) => {
        lightCell(obs, n, t[1], t[0], channel);
        const back = t[2] ? t[0] - 1 : t[0] + 1;
        if (back >= 0 && back <= 9) lightCell(obs, n, t[1], back, 3);
      };
      for (const f of s.fish) withTrail(f, 5);
      for (const e of s.enemySubs) withTrail(e, 6);
      for (const d of s.divers) withTrail(d, 9);
    },
  };
}

/**
 * A fish's or an enemy submarine's frame: it ends the game where it meets the player, moves a
 * cell when its timer is up (leaving the board, meeting the player, or running into a bullet,
 * which takes both and pays 1). Returns the reward.
 */
function moveEnemy(s: SeaquestState, list: (Swimmer | EnemySub)[], enemy: Swimmer | EnemySub): number {
  if (enemy[0] === s.subX && enemy[1] === s.subY) s.terminal = true;
  if (enemy[3] !== 0) {
    enemy[3] -= 1;
    return 0;
  }
  enemy[3] = s.moveSpeed;
  enemy[0] += enemy[2] ? 1 : -1;
  if (enemy[0] < 0 || enemy[0] > 9) removeEqual(list, enemy);
  else if (enemy[0] === s.subX && enemy[1] === s.subY) s.terminal = true;
  else {
    const bullet = s.friendlyBullets.find((b) => sameCell(enemy, b));
    if (bullet) {
      removeEqual(list, enemy);
      removeEqual(s.friendlyBullets, bullet);
      return 1;
    }
  }
  return 0;
}

/** A fish or (one in three) an enemy submarine at a side, in a row 1-8, unless that row has one going the other way. */
function spawnEnemy(s: SeaquestState, rng: Rng): void {
  const right = rng.random() < 1 / 2;
  const isSub = rng.random() < 1 / 3;
  const x = right ? 0 : 9;
  const y = 1 + rng.int(8);
  if ([...s.enemySubs, ...s.fish].some((e) => e[1] === y && e[2] !== right)) return;
  if (isSub) s.enemySubs.push([x, y, right, s.moveSpeed, ENEMY_SHOT_INTERVAL]);
  else s.fish.push([x, y, right, s.moveSpeed]);
}

const sameCell = (a: readonly unknown[], b: readonly unknown[]) => a[0] === b[0] && a[1] === b[1];

/** Python's `for item in reversed(list)`: by index from the end, stopping once the index is past the (shrunk) list. */
function walkBack<T>(list: T[], visit: (item: T) => void): void {
  for (let i = list.length - 1; i >= 0 && i < list.length; i--) visit(list[i]);
}

/** Python's `list.remove(item)`: takes out the first element equal to `item`, element by element. */
function removeEqual<T extends readonly unknown[]>(list: T[], item: T): void {
  const i = list.findIndex((x) => x.length === item.length && x.every((v, k) => v === item[k]));
  if (i >= 0) list.splice(i, 1);
}
