import { Canvas } from './draw';
import type { RgbFrame } from './env';

/** Rows of the board, row 0 at the top (PettingZoo's connect_four). */
export const ROWS = 6;
/** Columns of the board, the actions 0..6. */
export const COLUMNS = 7;
/** An empty cell; pieces are 1 and 2. */
export const EMPTY = 0;

/** How a move ended the game, if it did: the mover won (four in a line) or the board filled. */
export type MoveEnd = 'win' | 'draw' | null;

/** The 69 lines of four cells (cell = row * 7 + column): horizontal, vertical and both diagonals. */
export const WINDOWS: readonly (readonly number[])[] = (() => {
  const out: number[][] = [];
  const directions = [[0, 1], [1, 0], [1, 1], [-1, 1]]; // right, down, down-right, up-right
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLUMNS; c++) {
      for (const [dr, dc] of directions) {
        const [r3, c3] = [r + 3 * dr, c + 3 * dc];
        if (r3 >= 0 && r3 < ROWS && c3 < COLUMNS) out.push([0, 1, 2, 3].map((k) => (r + k * dr) * COLUMNS + c + k * dc));
      }
    }
  }
  return out;
})();

/** The legal columns of `board` (those whose top cell is empty), as 7 bytes, 1 legal. */
export function legalColumns(board: Uint8Array): Uint8Array {
  const mask = new Uint8Array(COLUMNS);
  for (let c = 0; c < COLUMNS; c++) mask[c] = board[c] === EMPTY ? 1 : 0;
  return mask;
}

/** The legal columns as a list, for messages. */
export function legalList(board: Uint8Array): string {
  const legal = legalColumns(board);
  return [...legal.keys()].filter((c) => legal[c] === 1).join(', ');
}

/** Drops `piece` into `column` (which must have room): it lands in the lowest empty cell; returns that cell. */
export function drop(board: Uint8Array, column: number, piece: number): number {
  for (let r = ROWS - 1; r >= 0; r--) {
    const cell = r * COLUMNS + column;
    if (board[cell] === EMPTY) {
      board[cell] = piece;
      return cell;
    }
  }
  throw new RangeError(`column ${column} is full`);
}

/** Whether the piece in `cell` is part of four in a line (the move that put it there won). */
export function winsAt(board: Uint8Array, cell: number): boolean {
  const piece = board[cell];
  const [r, c] = [Math.floor(cell / COLUMNS), cell % COLUMNS];
  const run = (dr: number, dc: number): number => {
    let n = 0;
    for (let [rr, cc] = [r + dr, c + dc]; rr >= 0 && rr < ROWS && cc >= 0 && cc < COLUMNS && board[rr * COLUMNS + cc] === piece; rr += dr, cc += dc) n++;
    return n;
  };
  return [[0, 1], [1, 0], [1, 1], [1, -1]].some(([dr, dc]) => 1 + run(dr, dc) + run(-dr, -dc) >= 4);
}

/** Plays `piece` in `column` (legal) and says whether that ended the game. */
export function playMove(board: Uint8Array, column: number, piece: number): MoveEnd {
  const cell = drop(board, column, piece);
  if (winsAt(board, cell)) return 'win';
  return board.subarray(0, COLUMNS).includes(EMPTY) ? null : 'draw';
}

/**
 * The board as the player of `piece` sees it, PettingZoo's (6, 7, 2) planes flattened row-major:
 * index (row * 7 + column) * 2 + plane, plane 0 its own pieces, plane 1 the other player's;
 * written into `obs` (zeros) where given.
 */
export function observePlanes(board: Uint8Array, piece: number, obs = new Float32Array(ROWS * COLUMNS * 2)): Float32Array {
  for (let i = 0; i < board.length; i++) {
    const p = board[i];
    if (p !== EMPTY) obs[i * 2 + (p === piece ? 0 : 1)] = 1;
  }
  return obs;
}

/** Pixels a cell. */
export const CELL_PX = 64;

/** The board, CELL_PX pixels a cell (448 x 384): piece 1 blue, piece 2 red, empty holes dark on a grey-blue frame. */
export function drawBoard(board: Uint8Array): RgbFrame {
  const c = new Canvas(COLUMNS * CELL_PX, ROWS * CELL_PX, [50, 60, 110]);
  const colours = [[24, 24, 32], [80, 150, 240], [230, 90, 80]] as const;
  board.forEach((p, i) => {
    const [x, y] = [(i % COLUMNS) * CELL_PX + CELL_PX / 2, Math.floor(i / COLUMNS) * CELL_PX + CELL_PX / 2];
    c.circle(x, y, CELL_PX * 0.4, colours[p]);
  });
  return c.frame();
}

/** The column under x pixels from the left of `drawBoard`'s frame, or null outside it. */
export function columnAt(x: number, y: number): number | null {
  const column = Math.floor(x / CELL_PX);
  return column >= 0 && column < COLUMNS && y >= 0 && y < ROWS * CELL_PX ? column : null;
}
