import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { seedStreams } from '../core/seed-streams';
import { recordEpisodes } from '../src/record';
import { ffmpegAvailable, videoWriter } from '../src/video';
import { constantPolicy, feedForward } from './helpers/policy-fixtures';

// Out of render.test.ts: the .mp4 writer runs ffmpeg as a child process, so this is an integration test.
describe('videos as .mp4', () => {
  it('names the encoder needed for .mp4 where ffmpeg is missing, and writes an MP4 of every frame where it is there', async () => {
    if (!ffmpegAvailable()) {
      assert.throws(() => videoWriter('out.mp4', 30), { message: '--video out.mp4: writing .mp4 needs ffmpeg on PATH (apt-get install ffmpeg), or name a .gif' });
      return;
    }
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rl-mp4-')), 'a.mp4');
    const r = await recordEpisodes({ policy: constantPolicy(0), spec: feedForward, envId: 'CartPole-v1', envConfig: {}, episodes: 1, seeds: seedStreams(0).evaluation(0), deterministic: true, file });
    assert.equal(fs.readFileSync(file).subarray(4, 8).toString(), 'ftyp');
    assert.equal(r.frames, r.lengthMean + 1);
  });
});
