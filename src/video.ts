import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GIFEncoder, applyPalette, quantize, type Encoder } from 'gifenc';
import type { RgbFrame } from '../envs/env';
import { ConfigError } from '../core/errors';

/** Frames in, a video file out. `add` then `finish`, once; frames must all have one size. */
export interface VideoWriter {
  readonly file: string;
  readonly frames: number;
  add(frame: RgbFrame): Promise<void>;
  /** Writes the file and returns its size in bytes. */
  finish(): Promise<number>;
}

/**
 * A writer for `file` by its extension: `.gif` (gifenc, in process) or `.mp4` (ffmpeg, which
 * must be on PATH: a one-line error says what to install when it is not). Checked before any
 * episode runs, so a missing encoder costs no evaluation time.
 */
export function videoWriter(file: string, fps: number): VideoWriter {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.gif') return new GifWriter(file, fps);
  if (ext === '.mp4') {
    if (!ffmpegAvailable()) throw new ConfigError(`--video ${file}: writing .mp4 needs ffmpeg on PATH (apt-get install ffmpeg), or name a .gif`);
    return new Mp4Writer(file, fps);
  }
  throw new ConfigError(`--video ${file}: the file must end in .gif or .mp4, got "${ext || 'no extension'}"`);
}

export function ffmpegAvailable(): boolean {
  return spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
}

/**
 * The frame's own colours as the palette, when it has at most 256 (env frames are flat
 * colours, so nearly always): exact, and several times faster than quantizing. Runs of one
 * colour skip the lookup. Undefined when there are more colours.
 */
function exactPalette(frame: RgbFrame): { palette: number[][]; index: Uint8Array } | undefined {
  const n = frame.width * frame.height;
  const d = frame.data;
  const index = new Uint8Array(n);
  const slots = new Map<number, number>();
  const palette: number[][] = [];
  let last = -1;
  let slot = 0;
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    const rgb = (d[j] << 16) | (d[j + 1] << 8) | d[j + 2];
    if (rgb !== last) {
      let s = slots.get(rgb);
      if (s === undefined) {
        if (palette.length === 256) return undefined;
        s = palette.length;
        slots.set(rgb, s);
        palette.push([d[j], d[j + 1], d[j + 2]]);
      }
      last = rgb;
      slot = s;
    }
    index[i] = slot;
  }
  while (palette.length < 2) palette.push([0, 0, 0]); // a GIF colour table holds at least 2 entries
  return { palette, index };
}

/** An RGB frame as RGBA, the layout gifenc's quantizer reads. */
function toRgba(frame: RgbFrame): Uint8Array {
  const n = frame.width * frame.height;
  const rgba = new Uint8Array(n * 4);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    rgba[i * 4] = frame.data[j];
    rgba[i * 4 + 1] = frame.data[j + 1];
    rgba[i * 4 + 2] = frame.data[j + 2];
    rgba[i * 4 + 3] = 255;
  }
  return rgba;
}

function checkSize(file: string, first: RgbFrame | undefined, frame: RgbFrame): void {
  if (frame.data.length !== frame.width * frame.height * 3) {
    throw new ConfigError(`${file}: a frame of ${frame.width} x ${frame.height} must hold ${frame.width * frame.height * 3} bytes (RGB), got ${frame.data.length}`);
  }
  if (first && (first.width !== frame.width || first.height !== frame.height)) {
    throw new ConfigError(`${file}: every frame must be ${first.width} x ${first.height}, got ${frame.width} x ${frame.height}`);
  }
}

/** An animated GIF that loops, one palette per frame (the env frames are flat colours). */
class GifWriter implements VideoWriter {
  frames = 0;
  private readonly gif: Encoder = GIFEncoder();
  private first: RgbFrame | undefined;
  // Browsers play delays under 20 ms at 100 ms: 50 fps is the fastest a GIF plays as written.
  private readonly delay: number;

  constructor(readonly file: string, fps: number) {
    this.delay = Math.max(20, Math.round(1000 / fps / 10) * 10);
  }

  async add(frame: RgbFrame): Promise<void> {
    checkSize(this.file, this.first, frame);
    this.first ??= frame;
    const exact = exactPalette(frame);
    if (exact) {
      this.gif.writeFrame(exact.index, frame.width, frame.height, { palette: exact.palette, delay: this.delay });
    } else {
      const rgba = toRgba(frame);
      const palette = quantize(rgba, 256, { format: 'rgb444' });
      this.gif.writeFrame(applyPalette(rgba, palette, 'rgb444'), frame.width, frame.height, { palette, delay: this.delay });
    }
    this.frames += 1;
  }

  async finish(): Promise<number> {
    this.gif.finish();
    const bytes = this.gif.bytes();
    fs.mkdirSync(path.dirname(path.resolve(this.file)), { recursive: true });
    fs.writeFileSync(this.file, bytes);
    return bytes.length;
  }
}

/** H.264 in MP4 through ffmpeg, fed raw RGB frames on its stdin. */
class Mp4Writer implements VideoWriter {
  frames = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<{ code: number | null; stderr: string }> | undefined;
  private first: RgbFrame | undefined;

  constructor(readonly file: string, private readonly fps: number) {}

  async add(frame: RgbFrame): Promise<void> {
    checkSize(this.file, this.first, frame);
    if (!this.first) {
      this.first = frame;
      fs.mkdirSync(path.dirname(path.resolve(this.file)), { recursive: true });
      // Even sizes for yuv420p: libx264 refuses odd ones, so pad by a pixel where needed.
      const args = ['-y', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${frame.width}x${frame.height}`, '-r', String(this.fps), '-i', '-',
        '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', this.file];
      const child = spawn('ffmpeg', args, { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      this.exited = new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
      child.stdin!.on('error', () => {}); // ffmpeg failing early: its exit code and stderr say why
      this.child = child;
    }
    const stdin = this.child!.stdin!;
    if (!stdin.write(frame.data)) await new Promise<void>((resolve) => stdin.once('drain', resolve));
    this.frames += 1;
  }

  async finish(): Promise<number> {
    if (!this.child) throw new ConfigError(`${this.file}: no frames to write`);
    this.child.stdin!.end();
    const { code, stderr } = await this.exited!;
    if (code !== 0) throw new ConfigError(`${this.file}: ffmpeg exited with ${code}: ${stderr.trim().split('\n').pop()}`);
    return fs.statSync(this.file).size;
  }
}
