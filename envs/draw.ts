import type { RgbFrame } from './env';

/** An RGB colour, 0-255 each. */
export type Rgb = readonly [number, number, number];
export type Point = readonly [number, number];

/**
 * A small raster canvas for env frames: filled polygons, circles, lines and rects into an RGB
 * buffer, no anti-aliasing. Coordinates are pixels, x right and y down as pygame's; Gymnasium's
 * envs draw with y up and flip the surface at the end, and `flipVertical()` does the same here,
 * so a drawing reads like its Python original. A pixel is covered when its centre is inside.
 */
export class Canvas implements RgbFrame {
  readonly data: Uint8Array;

  constructor(readonly width: number, readonly height: number, background: Rgb = [255, 255, 255]) {
    this.data = new Uint8Array(width * height * 3);
    this.fill(background);
  }

  fill(c: Rgb): void {
    if (this.data.length === 0) return;
    this.set(0, c);
    // Doubling copies: a frame's fill is a few memcpys, not a loop over its pixels.
    for (let n = 3; n < this.data.length; n *= 2) this.data.copyWithin(n, 0, Math.min(n, this.data.length - n));
  }

  /** Pixel (x, y), clipped to the canvas. */
  pixel(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.set((y * this.width + x) * 3, c);
  }

  /** Pixels x0..x1 (inclusive, rounded) of row y. */
  span(y: number, x0: number, x1: number, c: Rgb): void {
    if (y < 0 || y >= this.height) return;
    const a = Math.max(0, Math.ceil(x0 - 0.5));
    const b = Math.min(this.width - 1, Math.floor(x1 - 0.5));
    for (let x = a; x <= b; x++) this.set((y * this.width + x) * 3, c);
  }

  rect(x: number, y: number, w: number, h: number, c: Rgb): void {
    this.polygon([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], c);
  }

  /** A filled polygon (any winding, even-odd rule), by scanlines through pixel centres. */
  polygon(points: readonly Point[], c: Rgb): void {
    if (points.length < 3) return;
    const ys = points.map((p) => p[1]);
    const top = Math.max(0, Math.floor(Math.min(...ys)));
    const bottom = Math.min(this.height - 1, Math.ceil(Math.max(...ys)));
    const xs: number[] = [];
    for (let y = top; y <= bottom; y++) {
      const yc = y + 0.5;
      xs.length = 0;
      for (let i = 0; i < points.length; i++) {
        const [ax, ay] = points[i];
        const [bx, by] = points[(i + 1) % points.length];
        if ((ay <= yc && by > yc) || (by <= yc && ay > yc)) xs.push(ax + ((yc - ay) / (by - ay)) * (bx - ax));
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) this.span(y, xs[k], xs[k + 1], c);
    }
  }

  /** A filled circle of radius r around (cx, cy). */
  circle(cx: number, cy: number, r: number, c: Rgb): void {
    const top = Math.max(0, Math.floor(cy - r));
    const bottom = Math.min(this.height - 1, Math.ceil(cy + r));
    for (let y = top; y <= bottom; y++) {
      const dy = y + 0.5 - cy;
      if (dy * dy > r * r) continue;
      const dx = Math.sqrt(r * r - dy * dy);
      this.span(y, cx - dx, cx + dx, c);
    }
  }

  /** A line `width` pixels wide (1: Bresenham's, so a thin line never has gaps). */
  line(a: Point, b: Point, c: Rgb, width = 1): void {
    if (width > 1) {
      const len = Math.hypot(b[0] - a[0], b[1] - a[1]) || 1;
      const nx = ((a[1] - b[1]) / len) * (width / 2);
      const ny = ((b[0] - a[0]) / len) * (width / 2);
      this.polygon([[a[0] + nx, a[1] + ny], [b[0] + nx, b[1] + ny], [b[0] - nx, b[1] - ny], [a[0] - nx, a[1] - ny]], c);
      return;
    }
    let x0 = Math.round(a[0]);
    let y0 = Math.round(a[1]);
    const x1 = Math.round(b[0]);
    const y1 = Math.round(b[1]);
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      this.pixel(x0, y0, c);
      if (x0 === x1 && y0 === y1) return;
      const e2 = 2 * err;
      if (e2 >= dy) {
        err += dy;
        x0 += sx;
      }
      if (e2 <= dx) {
        err += dx;
        y0 += sy;
      }
    }
  }

  /** Connected line segments through `points`, closed back to the first when `closed`. */
  lines(points: readonly Point[], c: Rgb, closed = false): void {
    for (let i = 0; i + 1 < points.length; i++) this.line(points[i], points[i + 1], c);
    if (closed && points.length > 2) this.line(points[points.length - 1], points[0], c);
  }

  /** Mirrors the rows, as `pygame.transform.flip(surf, False, True)`: drawn y-up, shown y-down. */
  flipVertical(): this {
    const row = this.width * 3;
    const tmp = new Uint8Array(row);
    for (let top = 0, bottom = this.height - 1; top < bottom; top++, bottom--) {
      tmp.set(this.data.subarray(top * row, top * row + row));
      this.data.copyWithin(top * row, bottom * row, bottom * row + row);
      this.data.set(tmp, bottom * row);
    }
    return this;
  }

  /** The frame as plain data (the canvas's own buffer). */
  frame(): RgbFrame {
    return { width: this.width, height: this.height, data: this.data };
  }

  private set(i: number, c: Rgb): void {
    this.data[i] = c[0];
    this.data[i + 1] = c[1];
    this.data[i + 2] = c[2];
  }
}

/** `pygame.math.Vector2(p).rotate_rad(angle)`: counter-clockwise in y-up coordinates. */
export function rotate(p: Point, angle: number): Point {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return [p[0] * c - p[1] * s, p[0] * s + p[1] * c];
}
