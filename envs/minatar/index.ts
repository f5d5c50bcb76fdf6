import { asterix } from './asterix';
import { breakout } from './breakout';
import { freeway } from './freeway';
import type { MinAtarGame } from './game';
import { seaquest } from './seaquest';
import { spaceInvaders } from './space-invaders';

export { MinAtarEnv, type MinAtarConfig } from './minatar-env';
export type { MinAtarGame } from './game';

/**
 * MinAtar's games by the name of their Gymnasium id (`MinAtar/<name>-v0`), each a builder
 * taking the difficulty ramp's switch (Breakout and Freeway have no ramp).
 */
export const MINATAR_GAMES: Record<string, (ramping: boolean) => MinAtarGame> = {
  Asterix: (ramping) => asterix(ramping) as MinAtarGame,
  Breakout: () => breakout as MinAtarGame,
  Freeway: () => freeway as MinAtarGame,
  Seaquest: (ramping) => seaquest(ramping) as MinAtarGame,
  SpaceInvaders: (ramping) => spaceInvaders(ramping) as MinAtarGame,
};
