/**
 * Videos through ffmpeg: tiny clips made at test time by the same ffmpeg the tool runs (its testsrc pattern with a
 * sine tone), upscaled, then read back: frame count, every frame's timestamp (a variable frame rate included), the
 * audio and subtitle packets byte for byte, the metadata, and each frame's pixels against that frame upscaled as a
 * still. Bad videos fail alone with one line; Ctrl-C leaves nothing behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { findFfmpeg } from '../src/files/ffmpeg.js';
import { upscale, type UpscaleEvent } from '../src/index.js';
import { cli, psnr, scratch, type Pixels } from './helpers.js';

const ffmpeg = findFfmpeg(undefined, 'the tests');
const bin = fileURLToPath(new URL('../bin/upscale.js', import.meta.url));

function run(args: string[]): string {
  const result = spawnSync(ffmpeg, ['-nostdin', '-hide_banner', '-loglevel', 'error', ...args], { encoding: 'latin1', maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/**
 * A clip of testsrc at 32x24 and 10 fps, turning (so that no two frames look alike), with a 440 Hz tone; `vfr` moves
 * frames 3 onwards 50 ms later.
 */
function makeClip(path: string, { frames = 6, vfr = false, size = '32x24', extra = [] as string[] } = {}): void {
  const seconds = String(frames / 10);
  const webm = path.endsWith('.webm');
  const filter = vfr ? ['-vf', "rotate=a=t*2,settb=1/1000,setpts='N*100+if(gte(N,3),50,0)'", '-vsync', 'passthrough', '-enc_time_base:v', '1/1000'] : ['-vf', 'rotate=a=t*2'];
  run([
    ...['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=10:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=8000:duration=${seconds}`],
    ...extra,
    ...filter,
    ...['-c:v', webm ? 'libvpx-vp9' : 'libx264', '-crf', '18', '-pix_fmt', 'yuv420p', '-c:a', webm ? 'libopus' : 'aac', '-metadata', 'title=upscale test', '-y', path],
  ]);
}

interface Packets {
  timeBase: number;
  /** One line per packet: its timestamps and checksum. */
  lines: string[];
}

/** The packets of one stream as stored, without decoding: `-c copy` through ffmpeg's frame hash. */
function packets(path: string, stream: string): Packets {
  const text = run(['-i', path, '-map', `0:${stream}`, '-c', 'copy', '-f', 'framecrc', '-']);
  const [, num, den] = /^#tb 0: (\d+)\/(\d+)$/m.exec(text)!;
  return { timeBase: Number(num) / Number(den), lines: text.split('\n').filter((line) => /^\d/.test(line)) };
}

/** Every decoded frame's presentation time in seconds, as a player shows them (edit lists applied). */
function frameTimes(path: string): number[] {
  const text = run(['-i', path, '-map', '0:v:0', '-vsync', 'passthrough', '-enc_time_base', '-1', '-c:v', 'wrapped_avframe', '-f', 'framecrc', '-']);
  const [, num, den] = /^#tb 0: (\d+)\/(\d+)$/m.exec(text)!;
  return [...text.matchAll(/^0,\s*-?\d+,\s*(-?\d+),/gm)].map((match) => Math.round((Number(match[1]) * Number(num) * 1e6) / Number(den)) / 1e6);
}

/** Frame k of a video (or the one frame of an image) as 4:2:0 planes, the layout the encoder stores. */
function yuvFrame(path: string, k: number): Pixels {
  const data = Buffer.from(run(['-i', path, '-map', '0:v:0', '-vsync', 'passthrough', '-vf', `select=eq(n\\,${k})`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-']), 'latin1');
  return { data, width: data.length, height: 1, channels: 1 };
}

/** The container's duration as ffmpeg reports it (hundredths of a second). */
function duration(path: string): string {
  return /Duration: ([\d:.]+)/.exec(spawnSync(ffmpeg, ['-hide_banner', '-i', path], { encoding: 'utf8' }).stderr)![1]!;
}

function tags(path: string): string {
  return run(['-i', path, '-f', 'ffmetadata', '-']);
}

describe('video', () => {
  const folder = scratch();
  const clip = join(folder, 'clip.mp4');
  beforeAll(() => makeClip(clip));

  it('every frame upscaled, with the same timestamps, frame rate and duration; audio and metadata copied', async () => {
    const out = scratch();
    const output = join(out, 'clip-x2.mp4');
    const result = await cli(clip, '-o', output, '-m', 'nearest', '-s', '2', '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).files[0]).toMatchObject({ status: 'ok', frames: 6, width: 32, height: 24, outWidth: 64, outHeight: 48 });
    expect(frameTimes(output)).toEqual(frameTimes(clip));
    expect(frameTimes(output)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5]);
    expect(duration(output)).toBe(duration(clip));
    const audio = packets(output, 'a:0');
    expect(audio).toEqual(packets(clip, 'a:0'));
    expect(tags(output)).toMatch(/^title=upscale test$/m);
    expect(run(['-i', output, '-map', '0:v:0', '-c', 'copy', '-f', 'framecrc', '-'])).toMatch(/^#codec_id 0: h264$/m);
  });

  it('frame k of the video is frame k upscaled as a still, within what the codec changes', async () => {
    const out = scratch();
    // Lossless x264 (--crf 0), and the still brought to the same 4:2:0 planes: what is left is rounding.
    const model = ['-m', 'realesr-animevideov3', '-s', '2'];
    const output = join(out, 'clip-x2.mp4');
    expect((await cli(clip, '-o', output, ...model, '--crf', '0')).code).toBe(0);
    const stills: Pixels[] = [];
    for (const k of [0, 1, 4]) {
      // The source frame exactly as the tool's decoder sees it, upscaled as a still image.
      const still = join(out, `frame${k}.png`);
      run(['-i', clip, '-map', '0:v:0', '-vsync', 'passthrough', '-vf', `select=eq(n\\,${k})`, '-frames:v', '1', '-pix_fmt', 'rgb24', still]);
      expect((await cli(still, '-o', join(out, `frame${k}-x2.png`), ...model)).code).toBe(0);
      stills.push(yuvFrame(join(out, `frame${k}-x2.png`), 0));
      expect(psnr(yuvFrame(output, k), stills.at(-1)!)).toBeGreaterThanOrEqual(45);
    }
    // Another frame would be far off.
    expect(psnr(yuvFrame(output, 1), stills[0]!)).toBeLessThan(30);
  });

  it('a variable frame rate survives, and subtitles come along unchanged (Matroska)', async () => {
    const source = join(folder, 'vfr.mkv');
    const subtitles = join(folder, 'talk.srt');
    writeFileSync(subtitles, '1\n00:00:00,000 --> 00:00:00,300\nhello\n\n2\n00:00:00,300 --> 00:00:00,600\nworld\n');
    makeClip(source, { vfr: true, extra: ['-i', subtitles, '-map', '0', '-map', '1', '-map', '2', '-c:s', 'srt'] });
    const out = scratch();
    expect((await cli(source, '-o', out, '-m', 'nearest', '-s', '2')).code).toBe(0);
    const output = join(out, 'vfr.mkv');
    const times = frameTimes(source);
    // Frames 100 ms apart and 150 ms apart: a variable frame rate.
    expect(new Set(times.slice(1).map((t, k) => Math.round((t - times[k]!) * 1000))).size).toBeGreaterThan(1);
    expect(frameTimes(output)).toEqual(times);
    expect(packets(output, 's:0')).toEqual(packets(source, 's:0'));
    expect(packets(output, 'a:0')).toEqual(packets(source, 'a:0'));
  });

  it('WebM is written as VP9 with its Opus audio copied; --video-codec, --crf and --audio choose otherwise', async () => {
    const source = join(folder, 'clip.webm');
    makeClip(source);
    const out = scratch();
    expect((await cli(source, '-o', out, '-m', 'nearest', '-s', '2')).code).toBe(0);
    expect(run(['-i', join(out, 'clip.webm'), '-map', '0:v:0', '-c', 'copy', '-f', 'framecrc', '-'])).toMatch(/^#codec_id 0: vp9$/m);
    expect(packets(join(out, 'clip.webm'), 'a:0')).toEqual(packets(source, 'a:0'));
    expect((await cli(clip, '-o', join(out, 'h265.mkv'), '-m', 'nearest', '--video-codec', 'h265', '--crf', '30')).code).toBe(0);
    expect(run(['-i', join(out, 'h265.mkv'), '-map', '0:v:0', '-c', 'copy', '-f', 'framecrc', '-'])).toMatch(/^#codec_id 0: hevc$/m);
    // AAC cannot go into WebM: --audio copy says so before the first frame; auto (the default) encodes it as Opus.
    const events: UpscaleEvent[] = [];
    const copied = await upscale(clip, { output: join(out, 'x.webm'), model: 'nearest', audio: 'copy', onEvent: (e) => events.push(e) });
    expect(copied.files[0]).toMatchObject({
      status: 'error',
      code: 'ERR_VIDEO_STREAMS',
      error: `${clip}: its audio or subtitles cannot be copied into webm (Only VP8 or VP9 or AV1 video and Vorbis or Opus audio and WebVTT subtitles are supported for WebM.); use --audio encode or auto, or another container`,
    });
    expect(events.filter((e) => e.type === 'start' || e.type === 'tile')).toEqual([]);
    expect(readdirSync(out).filter((name) => name.startsWith('x.') || name.startsWith('.x.'))).toEqual([]);
    const encoded = await cli(clip, '-o', join(out, 'x.webm'), '-m', 'nearest');
    expect(encoded.code, encoded.stderr).toBe(0);
    expect(run(['-i', join(out, 'x.webm'), '-map', '0:a:0', '-c', 'copy', '-f', 'framecrc', '-'])).toMatch(/^#codec_id 0: opus$/m);
    // Copied where it fits, also under auto: the MP4's AAC goes into mkv unchanged; encode re-encodes it there too.
    expect((await cli(clip, '-o', join(out, 'y.mkv'), '-m', 'nearest')).code).toBe(0);
    expect(packets(join(out, 'y.mkv'), 'a:0').lines.length).toBe(packets(clip, 'a:0').lines.length);
    expect(run(['-i', join(out, 'y.mkv'), '-map', '0:a:0', '-c', 'copy', '-f', 'framecrc', '-'])).toMatch(/^#codec_id 0: aac$/m);
    expect((await cli(clip, '-o', join(out, 'z.mkv'), '-m', 'nearest', '--audio', 'encode')).code).toBe(0);
    expect(run(['-i', join(out, 'z.mkv'), '-map', '0:a:0', '-c', 'copy', '-f', 'framecrc', '-'])).toMatch(/^#codec_id 0: opus$/m);
    const wrong = await cli(clip, '-o', join(out, 'x.mp4'), '-m', 'nearest', '--video-codec', 'vp9');
    expect(wrong.stderr.split('\n')[0]).toBe(`${clip}: --video-codec vp9 cannot be written in mp4; name a .mkv, .webm output, or another --video-codec`);
  });

  it('bad videos each fail with one line and the batch goes on', async () => {
    const root = scratch();
    run(['-f', 'lavfi', '-i', 'sine=duration=0.2', '-c:a', 'aac', join(root, 'song.mp4')]);
    writeFileSync(join(root, 'junk.mp4'), Buffer.concat([Buffer.from('\0\0\0\x18ftypisom\0\0\x02\0isomiso2', 'latin1'), Buffer.alloc(300, 7)]));
    writeFileSync(join(root, 'empty.mkv'), '');
    makeClip(join(root, 'good.mp4'));
    const out = scratch();
    const result = await cli(root, '-o', out, '-m', 'nearest', '-s', '2');
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').slice(0, 3)).toEqual([
      `${join(root, 'empty.mkv')}: file is empty`,
      `${join(root, 'junk.mp4')}: cannot decode video (ffmpeg: Invalid data found when processing input); the file may be truncated or corrupt`,
      `${join(root, 'song.mp4')}: holds no video stream (audio only?); nothing to upscale`,
    ]);
    expect(readdirSync(out)).toEqual(['good.mp4']);
    const codes = JSON.parse((await cli(root, '-o', scratch(), '-m', 'nearest', '-s', '2', '--json')).stdout).files.map((f: { code?: string }) => f.code);
    expect(codes).toEqual(['ERR_INPUT_EMPTY', undefined, 'ERR_VIDEO_DECODE', 'ERR_VIDEO_NO_STREAM']);
  });

  it('dry run: frames and sizes, nothing written; progress counts frames', async () => {
    const out = scratch();
    const plan = await cli(clip, '-o', out, '-m', 'nearest', '-s', '2', '--dry-run');
    expect(plan.stdout.trim()).toBe(`${clip} → ${join(out, 'clip.mp4')} (32x24 → 64x48, 6 frames)`);
    expect(readdirSync(out)).toEqual([]);
    const events: UpscaleEvent[] = [];
    await upscale(clip, { output: out, model: 'nearest', scale: 2, onEvent: (event) => events.push(event) });
    const frames = events.flatMap((event) => (event.type === 'tile' && event.framesDone !== undefined ? [event.framesDone] : []));
    expect(Math.max(...frames)).toBe(6);
    expect(events.find((event) => event.type === 'start')).toMatchObject({ framesTotal: 6, framesDone: 0 });
  });

  it('flags: --ffmpeg must be an executable file; --video-codec and --crf are checked', async () => {
    const bad = await cli(clip, '--ffmpeg', join(folder, 'nothing-here'));
    expect([bad.code, bad.stderr.trim()]).toEqual([2, `upscale: Expected an executable ffmpeg file for --ffmpeg (or UPSCALE_FFMPEG) but received "${join(folder, 'nothing-here')}"`]);
    const codec = await cli(clip, '--video-codec', 'av1');
    expect([codec.code, codec.stderr.trim()]).toEqual([2, 'upscale: Expected one of h264, h265, vp9 for --video-codec but received "av1"']);
    const crf = await cli(clip, '--video-codec', 'h264', '--crf', '52');
    expect([crf.code, crf.stderr.trim()]).toEqual([2, 'upscale: Expected integer between 0 and 51 for --crf but received "52"']);
  });

  it('--report shows a video by its first frame, before and after, linking the video itself', async () => {
    const out = scratch();
    const page = join(out, 'report.html');
    const run = await cli(clip, '-o', join(out, 'videos'), '-m', 'nearest', '-s', '2', '--report', page);
    expect(run.code, run.stderr).toBe(0);
    const html = readFileSync(page, 'utf8');
    expect(html).toContain('data-before="report_files/0001-before.png" data-after="report_files/0001-after.png"');
    expect(html).toContain('href="videos/clip.mp4"');
    const size = async (name: string) => {
      const { width, height } = await sharp(join(out, 'report_files', name)).metadata();
      return [width, height];
    };
    expect([await size('0001-before.png'), await size('0001-after.png'), await size('0001.webp')]).toEqual([[32, 24], [64, 48], [64, 48]]);
  });

  it('--max-pixels counts one frame of a video (its frames stream through; an animation counts them all)', async () => {
    // The clip is 32x24 = 768 pixels a frame, 6 frames.
    const fits = await cli(clip, '-o', scratch(), '-m', 'nearest', '-s', '1', '--max-pixels', '768', '--dry-run');
    expect(fits.code).toBe(0);
    expect(fits.stderr).toMatch(/^1 planned in /);
    const over = await cli(clip, '-o', scratch(), '-m', 'nearest', '-s', '1', '--max-pixels', '767');
    expect(over.code).toBe(1);
    expect(over.stderr.split('\n')[0]).toBe(`${clip}: 32x24 is 768 pixels, over the limit of 767; raise it with --max-pixels if the image is genuine`);
  });

  it('an encoder killed under the run (out of memory, say) fails the file as transient: exit 75, a retry may help', async () => {
    const source = join(folder, 'killed.mp4');
    makeClip(source, { frames: 40, size: '96x72' });
    const out = scratch();
    const child = spawn(process.execPath, [bin, source, '-o', out, '-m', 'realesr-general-x4v3', '-j', '1', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => (stdout += chunk));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const until = Date.now() + 30000;
    let encoder: number | undefined;
    while (encoder === undefined && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      const listing = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(child.pid)], { encoding: 'utf8' }).stdout;
      const line = listing.split('\n').find((l) => l.includes('-c:v libx264'));
      if (line) encoder = Number(line.trim().split(/\s+/)[0]);
    }
    expect(encoder).toBeDefined();
    process.kill(encoder!, 'SIGKILL');
    expect(await exit, stderr).toBe(75);
    expect(JSON.parse(stdout).files[0]).toMatchObject({ status: 'error', code: 'ERR_VIDEO_ENCODE', transient: true });
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  it('Ctrl-C stops a video cleanly: exit 130, no output and no temporary file left', async () => {
    const source = join(folder, 'long.mp4');
    makeClip(source, { frames: 40, size: '96x72' });
    const out = scratch();
    const child = spawn(process.execPath, [bin, source, '-o', out, '-m', 'realesr-general-x4v3', '-j', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // The device line comes once the model is loaded; then frames are flowing.
    const until = Date.now() + 30000;
    while (!stderr.includes('using') && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    expect(stderr).toContain('using');
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGINT');
    expect(await exit, stderr).toBe(130);
    expect(stderr).toContain('Interrupted');
    // Reported as the interruption it is, not as a failed write of the file it was encoding into.
    expect(stderr).toContain(`${source}: interrupted`);
    expect(stderr).not.toContain('cannot write');
    expect(stderr).toContain('0 upscaled, 1 failed');
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });
});
