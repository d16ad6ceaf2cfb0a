/**
 * A video's frames through the image pipeline. One ffmpeg decodes the video stream to raw RGB on a pipe; each frame
 * is upscaled and edited exactly as a still of its own; a second ffmpeg encodes the frames, given with the source's
 * own timestamps (see nut.ts), and copies the source's audio, subtitles, chapters and metadata beside them. Decoding
 * runs ahead of the network and encoding behind it; no frame is written to disk. With --interpolate, n − 1 frames
 * made between each pair join them (interpolate.ts), at times dividing each step evenly: the time base is divided by
 * n so that every new timestamp is a whole number, and the last frame is followed by n − 1 copies over the step
 * before it, so the video lasts as long as its audio.
 */
import type { Readable, Writable } from 'node:stream';
import { devNull } from 'node:os';
import { resolve } from 'node:path';
import { applyEdits } from '../pixels/edit.js';
import { inputError, transient, type InputError } from '../core/errors.js';
import { ffmpegError, findFfmpeg, startFfmpeg, type Ffmpeg } from '../files/ffmpeg.js';
import { extensionOf, isVideoFormat, VIDEO, VIDEO_CODECS, type VideoCodec, type VideoDemuxer, type VideoFormat } from '../core/formats.js';
import { allocateImage, type Image } from '../core/image.js';
import { nutFrameHeader, nutHeader } from '../files/nut.js';
import type { PlannedFile } from '../inputs/outputs.js';
import { checkAbort, checkHeader, newTimings, precisionOf, rounded, upscalePixels, makesPixels, type Context } from './upscale.js';
import { bytesOf } from '../pixels/sharp-raw.js';
import { writeAtomically } from '../files/write.js';
import type { FileResult } from '../core/results.js';
import { checkInterpolable, Inbetweener, interpolatedCount } from './interpolate.js';

/**
 * Frames held at once, for the memory budget: the one being upscaled and the next, decoded ahead (the one encoded
 * behind is already in ffmpeg's hands).
 */
const FRAMES_HELD = 2;

/** What the decoder will deliver: the size of each frame (rotation applied), the time base and each frame's timestamp. */
interface VideoProbe {
  width: number;
  height: number;
  timeBase: { num: number; den: number };
  pts: number[];
}

/** ffmpeg reads the file by the demuxer its content was sniffed as, through the file protocol only, whatever its name. */
function inputArgs(demuxer: VideoDemuxer, path: string): string[] {
  return ['-f', demuxer, '-i', `file:${resolve(path)}`];
}

/** What ffmpeg said went wrong, without the input's path (our message names the file already). */
function failure(stderr: string, path: string): string {
  return ffmpegError(stderr).replace(`file:${resolve(path)}: `, '');
}

/** Every frame as it is, none duplicated or dropped, whatever the frame rate does. */
const PASSTHROUGH = ['-vsync', 'passthrough'];

/** The first video stream, decoded exactly as the decoder will give it. */
const DECODE = ['-map', '0:v:0', ...PASSTHROUGH];

/**
 * Decodes the whole video stream once without keeping any pixels (ffmpeg's frame-hash output of frames passed by
 * reference): the frame count, size and timestamps, and the proof that every frame decodes.
 */
async function probe(ffmpeg: string, input: string, demuxer: VideoDemuxer): Promise<VideoProbe> {
  const run = startFfmpeg(ffmpeg, [...inputArgs(demuxer, input), ...DECODE, '-enc_time_base', '-1', '-c:v', 'wrapped_avframe', '-f', 'framecrc', 'pipe:1']);
  let text = '';
  run.process.stdout!.setEncoding('utf8');
  run.process.stdout!.on('data', (chunk: string) => (text += chunk));
  const { code, stderr } = await run.exited;
  if (code !== 0) {
    if (/matches no streams/.test(stderr)) throw inputError('noVideoStream', input);
    throw inputError('corruptVideo', input, failure(stderr, input));
  }
  const timeBase = /^#tb 0: (\d+)\/(\d+)$/m.exec(text);
  const size = /^#dimensions 0: (\d+)x(\d+)$/m.exec(text);
  const pts = [...text.matchAll(/^0,\s*-?\d+,\s*(-?\d+),/gm)].map((match) => Number(match[1]));
  if (pts.length === 0) throw inputError('emptyVideo', input);
  if (!timeBase || !size) throw inputError('corruptVideo', input, 'ffmpeg reported no frame size or time base');
  return { width: Number(size[1]), height: Number(size[2]), timeBase: { num: Number(timeBase[1]), den: Number(timeBase[2]) }, pts };
}

/** Fixed-size frames from a stream, reading at most `ahead` frames beyond the one asked for. */
class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private wake?: () => void;

  constructor(
    private readonly stream: Readable,
    private readonly frameBytes: number,
    private readonly ahead: number,
  ) {
    const signal = () => {
      this.wake?.();
      this.wake = undefined;
    };
    stream.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered >= this.frameBytes * (this.ahead + 1)) stream.pause();
      signal();
    });
    stream.on('close', () => {
      this.ended = true;
      signal();
    });
  }

  /** The next frame, or undefined when the stream ended before a whole one. */
  async next(): Promise<Buffer | undefined> {
    while (this.buffered < this.frameBytes && !this.ended) await new Promise<void>((wake) => (this.wake = wake));
    if (this.buffered < this.frameBytes) return undefined;
    const frame = Buffer.allocUnsafe(this.frameBytes);
    let filled = 0;
    while (filled < this.frameBytes) {
      const chunk = this.chunks[0]!;
      const take = Math.min(chunk.length, this.frameBytes - filled);
      chunk.copy(frame, filled, 0, take);
      filled += take;
      if (take === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(take);
    }
    this.buffered -= this.frameBytes;
    if (this.buffered < this.frameBytes * (this.ahead + 1)) this.stream.resume();
    return frame;
  }
}

/** Writes to an encoder's stdin, resolving once it has taken the bytes, or as soon as the encoder has exited. */
function write(stdin: Writable, exited: Promise<unknown>, parts: readonly Buffer[]): Promise<void> {
  let ready = true;
  for (const part of parts) ready = stdin.write(part);
  if (ready) return Promise.resolve();
  return Promise.race([new Promise<void>((drained) => stdin.once('drain', drained)), exited.then(() => undefined)]);
}

/** The encoder's output frame: packed 8-bit RGB (a grayscale edit gives one channel, spread back to three here). */
function rgb(image: Image): Image {
  if (image.channels === 3 && image.depth === 8) return image;
  if (image.channels !== 1 || image.depth !== 8) throw new Error(`unexpected video frame layout: ${image.channels} channels, ${image.depth} bits`);
  const out = allocateImage(image.width, image.height, 3, 8);
  for (let p = 0; p < image.data.length; p++) out.data.fill(image.data[p]!, 3 * p, 3 * p + 3);
  return out;
}

/**
 * The encoder: upscaled frames in (NUT on stdin), the compressed stream out (NUT on stdout) with every timestamp
 * as given.
 */
function encoderArgs(codec: VideoCodec, crf: number): string[] {
  const quality = codec === 'vp9' ? ['-crf', String(crf), '-b:v', '0', '-row-mt', '1'] : ['-crf', String(crf), '-bf', '0'];
  return ['-copyts', '-f', 'nut', '-i', 'pipe:0', '-c:v', VIDEO_CODECS[codec].encoder, ...quality, '-pix_fmt', 'yuv420p', ...PASSTHROUGH, '-enc_time_base:v', '-1', '-avoid_negative_ts', 'disabled', '-f', 'nut', 'pipe:1'];
}

/**
 * The muxer: the encoded stream (stdin) beside the source's audio, subtitles, chapters and metadata, all copied, every
 * timestamp kept as in the source. A muxer of its own, because a stream copy carries each frame's duration, which
 * ffmpeg 4 drops when it encodes: an MP4's edit list would then end where the last frame starts, hiding it.
 */
function muxerArgs(demuxer: VideoDemuxer, input: string, format: VideoFormat, start: string, encodeAudio: boolean): string[] {
  // Matroska also holds the source's attachments (fonts for its subtitles).
  const attachments = VIDEO[format].muxer === 'matroska' ? ['-map', '1:t?'] : [];
  return [
    ...['-copyts', '-f', 'nut', '-itsoffset', start, '-i', 'pipe:0', ...inputArgs(demuxer, input)],
    ...['-map', '0:v:0', '-map', '1:a?', '-map', '1:s?', ...attachments, '-map_metadata', '1', '-c', 'copy'],
    ...(encodeAudio ? ['-c:a', VIDEO[format].audio] : []),
    ...['-f', VIDEO[format].muxer],
  ];
}

/**
 * Whether the source's audio and subtitles go into `format` as the muxer will write them (copied, or the audio
 * encoded): ffmpeg writes the container's header alone and stops, so a mismatch is found before the first frame, not
 * after the last. Undefined when they fit (or there are none); else what ffmpeg said.
 */
async function streamsMisfit(ffmpeg: string, demuxer: VideoDemuxer, input: string, format: VideoFormat, encodeAudio: boolean): Promise<string | undefined> {
  const audio = encodeAudio ? ['-c:a', VIDEO[format].audio] : [];
  const run = startFfmpeg(ffmpeg, [...inputArgs(demuxer, input), '-vn', '-map', '0:a?', '-map', '0:s?', '-c', 'copy', ...audio, '-t', '0', '-f', VIDEO[format].muxer, '-y', devNull]);
  const { code, stderr } = await run.exited;
  if (code === 0 || /does not contain any stream/.test(stderr)) return undefined;
  return failure(stderr, input);
}

/** An ffmpeg's failure, marked transient when a signal killed it (out of memory, say) rather than the file failing it. */
function killedOr(code: number | null, error: InputError): InputError {
  return code === null ? transient(error) : error;
}

/** Ends a run: waits for it, killing it first when the file failed (or Ctrl-C stopped it). */
async function finish(run: Ffmpeg, kill: boolean): Promise<void> {
  if (kill) {
    run.process.kill('SIGKILL');
    // Whatever it had written but not yet read is not wanted.
    run.process.stdout!.destroy();
  }
  await run.exited;
}

export async function processVideo(file: PlannedFile, demuxer: VideoDemuxer, context: Context, result: FileResult): Promise<FileResult> {
  const { options } = context;
  const { input } = file;
  if (options.frame !== undefined) throw inputError('frameOfVideo', input);
  if (!isVideoFormat(file.format)) throw inputError('videoToImage', input, file.format, extensionOf('mp4'));
  const format = file.format;
  const codec = options.videoCodec ?? VIDEO[format].codec;
  if (!(VIDEO_CODECS[codec].containers as readonly string[]).includes(format)) {
    throw inputError('codecNotInContainer', input, codec, format, VIDEO_CODECS[codec].containers);
  }
  const crf = options.crf ?? VIDEO_CODECS[codec].defaultCrf;
  if (crf > VIDEO_CODECS[codec].maxCrf) throw inputError('crfOfCodec', input, codec, crf, VIDEO_CODECS[codec].maxCrf);
  const ffmpeg = findFfmpeg(options.ffmpeg, input);
  const timings = newTimings();
  const precisions = new Set<string>();
  let phase = performance.now();
  const video = await probe(ffmpeg, input, demuxer);
  // --audio auto copies what the container holds and encodes the audio where it does not; copy insists on copying.
  let encodeAudio = options.audio === 'encode';
  const misfit = await streamsMisfit(ffmpeg, demuxer, input, format, encodeAudio);
  if (misfit !== undefined) {
    if (options.audio !== 'auto') throw inputError('streamsNotInContainer', input, format, misfit, encodeAudio);
    encodeAudio = true;
    const still = await streamsMisfit(ffmpeg, demuxer, input, format, true);
    if (still !== undefined) throw inputError('streamsNotInContainer', input, format, still, true);
  }
  timings.decode += performance.now() - phase;
  const frames = video.pts.length;
  const { motion } = context;
  const n = motion && frames > 1 ? motion.n : 1;
  if (n > 1) checkInterpolable(input, video.width, video.height);
  // With --interpolate the frame before is held too, to make the frames between it and the next.
  const held = n > 1 ? FRAMES_HELD + 1 : FRAMES_HELD;
  // n for every frame: the last one is followed by n − 1 copies spanning its step, so it counts as in a looping animation.
  const made = interpolatedCount(frames, n, true);
  Object.assign(result, { width: video.width, height: video.height, frames: made });
  const { final, plan } = checkHeader(input, { width: video.width, height: video.height, channels: 3, depth: 8, alpha: false, frames: held }, 1, undefined, context);
  Object.assign(result, { outWidth: final.width, outHeight: final.height });
  // 4:2:0 chroma covers 2x2 pixels, so every encoder here needs even sides.
  if (final.width % 2 !== 0 || final.height % 2 !== 0) throw inputError('oddVideoSize', input, final.width, final.height);
  if (!makesPixels(context)) return { ...result, status: 'planned' };
  checkAbort(options.signal);
  // NUT timestamps are unsigned: the frames go to the encoder from 0, and -itsoffset puts them back in place.
  const first = video.pts[0]!;
  const tilesTotal = made * plan.tilesTotal;
  options.onEvent?.({ type: 'start', input, tilesDone: 0, tilesTotal, framesDone: 0, framesTotal: made });
  let tilesDone = 0;
  let framesDone = 0;
  const onTile = () => options.onEvent?.({ type: 'tile', input, tilesDone: ++tilesDone, tilesTotal, framesDone, framesTotal: made });
  await writeAtomically(
    file.output,
    async (temporary) => {
      const runs: Ffmpeg[] = [];
      let failed = true;
      try {
        const decoder = startFfmpeg(ffmpeg, [...inputArgs(demuxer, input), ...DECODE, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
        const encoder = startFfmpeg(ffmpeg, encoderArgs(codec, crf));
        // The frames went in from 0: -itsoffset puts them back at the source's first timestamp.
        const start = String((first * video.timeBase.num) / video.timeBase.den);
        const muxer = startFfmpeg(ffmpeg, [...muxerArgs(demuxer, input, format, start, encodeAudio), '-y', temporary]);
        runs.push(decoder, encoder, muxer);
        encoder.process.stdout!.pipe(muxer.process.stdin!);
        // An encoder or muxer that gives up (a codec the container cannot hold) ends the work at the next frame.
        let gaveUp = false;
        for (const run of [encoder, muxer]) void run.exited.then(() => (gaveUp = true));
        const reader = new FrameReader(decoder.process.stdout!, video.width * video.height * 3, 1);
        const timeBase = { num: video.timeBase.num, den: video.timeBase.den * n };
        let pending = write(encoder.process.stdin!, encoder.exited, [nutHeader({ width: final.width, height: final.height, timeBase })]);
        /** One frame upscaled, edited and handed to the encoder at `pts` (in the output's time base, from 0). */
        const emit = async (picture: Image, pts: number) => {
          checkAbort(options.signal);
          const upscaledFrame = await upscalePixels(picture, plan, context, onTile, timings, precisions);
          let started = performance.now();
          const image = rgb(await applyEdits(upscaledFrame, options.edits));
          timings.edit += performance.now() - started;
          started = performance.now();
          await pending;
          timings.encode += performance.now() - started;
          pending = write(encoder.process.stdin!, encoder.exited, [nutFrameHeader(pts, image.data.length), bytesOf(image)]);
          framesDone++;
          options.onEvent?.({ type: 'tile', input, tilesDone, tilesTotal, framesDone, framesTotal: made });
        };
        const steps = n > 1 ? new Inbetweener(motion!, options.signal) : undefined;
        let before: { picture: Image; pts: number } | undefined;
        /** The frame before and the frames between it and the one at `pts`: each step's new frames evenly spaced. */
        const emitStep = async (next: Image | undefined, pts: number) => {
          if (!before) return;
          const { picture, pts: at } = before;
          const between = next ? await steps!.between(picture, next) : Array<Image>(n - 1).fill(picture);
          await emit(picture, at * n);
          for (const [k, frame] of between.entries()) await emit(frame, at * n + (k + 1) * (pts - at));
        };
        for (const [k, source] of video.pts.entries()) {
          checkAbort(options.signal);
          if (gaveUp) break;
          const pts = source - first;
          const started = performance.now();
          const data = await reader.next();
          timings.decode += performance.now() - started;
          if (!data) {
            const { code, stderr } = await decoder.exited;
            throw killedOr(code, inputError('corruptVideo', input, `decoding stopped after ${k} of ${frames} frames: ${failure(stderr, input)}`));
          }
          const picture: Image = { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: video.width, height: video.height, channels: 3, depth: 8 };
          if (!steps) {
            await emit(picture, pts);
            continue;
          }
          await emitStep(picture, pts);
          before = { picture, pts };
        }
        // The last frame holds for the step before it, now n frames long.
        if (steps && before && !gaveUp) await emitStep(undefined, 2 * before.pts - (video.pts.at(-2)! - first));
        // Anything the decoder has left (nothing, when it agrees with the probe) is not needed.
        decoder.process.stdout!.resume();
        const started = performance.now();
        await pending;
        encoder.process.stdin!.end();
        for (const run of [encoder, muxer]) {
          const { code, stderr } = await run.exited;
          if (code !== 0) throw killedOr(code, inputError('encodeVideoFailed', input, failure(stderr, input)));
        }
        if (framesDone < made) throw inputError('encodeVideoFailed', input, `it stopped after ${framesDone} of ${made} frames`);
        timings.encode += performance.now() - started;
        failed = false;
      } finally {
        await Promise.all(runs.map((run) => finish(run, failed)));
      }
    },
    { overwrite: options.overwrite, input },
  );
  const precision = precisionOf(precisions);
  return { ...result, ...(precision && { precision }), timings: rounded(timings) };
}
