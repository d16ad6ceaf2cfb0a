/**
 * Every user-facing message, in one place so wording stays consistent and tests can pin it.
 * Style follows sharp: `Expected <what> for <flag> but received <value>`.
 */
import { FORMATS, READABLE_LIST } from './formats.js';

/**
 * A path or value as a message shows it: control characters (a newline in a file name, an escape sequence) are
 * written as escapes, so every message stays one line and cannot drive the terminal.
 */
export function shown(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

const quote = (value: unknown): string => (typeof value === 'string' ? `"${shown(value)}"` : String(value));

/** Plain words for the file-system errors users meet. */
export function errnoText(code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'no such file, or a broken link';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOSPC':
      return 'disk full';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOTDIR':
      return 'a parent of the path is a file, not a folder';
    case 'EISDIR':
      return 'is a folder';
    default:
      return code ?? 'unknown error';
  }
}

export const messages = {
  expected: (what: string, flag: string, value: unknown) => `Expected ${what} for ${flag} but received ${quote(value)}`,
  expectedOneOf: (flag: string, allowed: readonly string[], value: unknown) =>
    `Expected one of ${allowed.join(', ')} for ${flag} but received ${quote(value)}`,
  noiseUnsupported: (option: string, model: string, families: readonly string[]) =>
    `${option} picks a denoise level of ${families.join(' or ')}; ${shown(model)} has none: leave ${option} out, or use one of those models`,
  noiseUnavailable: (option: string, model: string, noise: string, scale: number, offered: string) =>
    `${shown(model)} has no ${option} ${noise} at x${scale}; it offers ${offered} (choose a level and a scale that go together)`,
  unknownModel: (value: string, names: readonly string[], option: string) =>
    `Unknown model ${quote(value)} for ${option}: expected one of ${names.join(', ')}, or a path to an .onnx file`,
  conflictingFlags: (a: string, b: string) => `${a} and ${b} cannot be used together`,
  needsFlag: (flag: string, needed: string) => `${flag} needs ${needed}`,
  badWatermark: (option: string, path: string, detail: string) => `${option} ${shown(path)}: not a readable image (${detail})`,
  pipeOneImage: (count: number) => `- (stdin) and -o - (stdout) carry one image, but ${count} inputs were given`,
  stdoutNeedsFormat: () => `-o - writes the image to stdout and needs its format: add -f ${FORMATS.slice(0, -1).join(', ')} or ${FORMATS.at(-1)}`,
  stdinNeedsOutput: () => '- reads one image from stdin and needs somewhere to write it: -o <file> or -o - (stdout)',
  unreadableList: (path: string, detail: string) => `--files-from ${shown(path)}: cannot read (${detail})`,
  noInputs: () => 'No inputs given: pass image files, folders or quoted globs, e.g. upscale "photos/**/*.jpg"',
  nothingMatched: (input: string) => `${shown(input)}: matched no image files (supported: ${READABLE_LIST})`,
  emptyFolder: (input: string) => `${shown(input)}: folder holds no image files (supported: ${READABLE_LIST})`,
  notFound: (input: string) => `${shown(input)}: no such file or directory`,
  brokenLink: (input: string, target: string) => `${shown(input)}: broken link (its target ${shown(target)} does not exist)`,
  notRegularFile: (input: string, kind: string) => `${shown(input)}: not a regular file (${kind}); name an image file or a folder`,
  outputFileNeedsOneInput: (option: string, output: string, count: number) =>
    `${option} ${shown(output)} names a file but ${count} inputs were given: pass a folder to ${option}`,
  outputNotWritable: (option: string, output: string, extension: string, writable: string) =>
    `${option} ${shown(output)}: ${extension} is not a format this tool writes; name a ${writable} file, or a folder`,
  outputIsInputFolder: (option: string, output: string) =>
    `${option} ${shown(output)} is an input folder itself: outputs would land among their inputs under the same names; choose another folder (inputs are never modified)`,
  earlierOutputLeftOut: (file: string, input: string) =>
    `${shown(file)}: left out, as it is exactly what this run writes for ${shown(input)} (an earlier run's output); rename it to upscale it`,
  earlierOutputsSkipped: (count: number) => `${count} file${count === 1 ? '' : 's'} named like an earlier output beside ${count === 1 ? 'its' : 'their'} input not taken as input`,
  outputIsInput: (input: string) =>
    `${shown(input)}: the output path is the input itself; choose another --output or --format (inputs are never modified)`,
  outputCollision: (input: string, output: string, other: string) =>
    `${shown(input)}: ${shown(other)} would be written to the same ${shown(output)}; neither is written: process one of them with another --output`,
  outputExists: (input: string, output: string) =>
    `${shown(input)}: output ${shown(output)} already exists; pass --overwrite to replace it or --skip-existing to keep it`,
  unsupportedInput: (input: string, detail: string) => `${shown(input)}: not a supported image (${detail}); supported: ${READABLE_LIST}`,
  animatedPng: (input: string) =>
    `${shown(input)}: is an animated PNG (APNG), whose frames the decoder cannot read (the output would hold only the first): convert it to an animated WebP or GIF first`,
  manyPages: (input: string, pages: number) =>
    `${shown(input)}: has ${pages} pages; multi-page TIFF and HEIF files are not supported (the output would hold only the first): extract the page you want first`,
  animatedToStill: (input: string, frames: number, format: string, animated: readonly string[]) =>
    `${shown(input)}: is animated (${frames} frames) but ${format} holds one image; keep the animation with ${animated.map((f) => `-f ${f}`).join(' or ')}, or take one frame with --frame N (0-${frames - 1})`,
  imageToVideo: (input: string, container: string) =>
    `${shown(input)}: is an image, so it cannot be written as a ${container} video; name an image output (-o with an image extension, or -f)`,
  videoToImage: (input: string, format: string, example: string) =>
    `${shown(input)}: is a video, so it cannot be written as a ${format} image; name a video output (-o clip${example}), or use a video extension`,
  frameOfVideo: (input: string) => `${shown(input)}: --frame picks a frame of an animated image; it does not apply to videos`,
  streamsNotInContainer: (input: string, container: string, detail: string, audioEncoded: boolean) =>
    audioEncoded
      ? `${shown(input)}: its subtitles cannot go into ${container} (${detail}); choose another container (mkv holds most)`
      : `${shown(input)}: its audio or subtitles cannot be copied into ${container} (${detail}); use --audio encode or auto, or another container`,
  codecNotInContainer: (input: string, codec: string, container: string, containers: readonly string[]) =>
    `${shown(input)}: --video-codec ${codec} cannot be written in ${container}; name a ${containers.map((c) => `.${c}`).join(', ')} output, or another --video-codec`,
  frameTooLargeToInterpolate: (input: string, width: number, height: number, max: number) =>
    `${shown(input)}: its ${width}x${height} frames are larger than the ${max} pixels --interpolate works on; interpolate a smaller copy, or upscale without --interpolate`,
  oddVideoSize: (input: string, width: number, height: number) =>
    `${shown(input)}: the output would be ${width}x${height}, but video encoders need even sides; choose a --scale or --resize that gives even sides`,
  crfOfCodec: (input: string, codec: string, crf: number, max: number) => `${shown(input)}: --crf ${crf} is past ${codec}'s range of 0-${max}; choose a lower --crf`,
  videoNotHere: (input: string) =>
    `${shown(input)}: is a video; videos are upscaled from files named as inputs (upscale clip.mp4), not from stdin, a buffer or compare`,
  noFfmpeg: (input: string) =>
    `${shown(input)}: no ffmpeg found to read videos: reinstall upscale (its @ffmpeg-installer/ffmpeg dependency ships one for this platform), or name one with --ffmpeg <path> or UPSCALE_FFMPEG`,
  noVideoStream: (input: string) => `${shown(input)}: holds no video stream (audio only?); nothing to upscale`,
  emptyVideo: (input: string) => `${shown(input)}: the video stream has no frames; nothing to upscale`,
  corruptVideo: (input: string, detail: string) => `${shown(input)}: cannot decode video (ffmpeg: ${shown(detail)}); the file may be truncated or corrupt`,
  encodeVideoFailed: (input: string, detail: string) => `${shown(input)}: cannot encode the video (ffmpeg: ${shown(detail)})`,
  noSuchFrame: (input: string, frame: number, frames: number) =>
    `${shown(input)}: --frame ${frame} is past its last frame (it has ${frames}, numbered from 0)`,
  emptyFile: (input: string) => `${shown(input)}: file is empty`,
  corruptInput: (input: string, detail: string) => `${shown(input)}: cannot decode image (${detail}); the file may be truncated or corrupt`,
  tooManyPixels: (input: string, width: number, height: number, frames: number, limit: number) =>
    `${shown(input)}: ${frames > 1 ? `${frames} frames of ` : ''}${width}x${height} ${frames > 1 ? 'are' : 'is'} ${frames * width * height} pixels, over the limit of ${limit}; raise it with --max-pixels if the image is genuine`,
  outputTooLarge: (input: string, format: string, width: number, height: number, max: number) =>
    `${shown(input)}: output ${width}x${height} exceeds ${format.toUpperCase()}'s limit of ${max} px per side; use --format png or tiff, or a smaller --scale`,
  unexpected: (input: string, detail: string) => `${shown(input)}: failed (${shown(detail)})`,
  cropOutside: (input: string, crop: string, width: number, height: number) =>
    `${shown(input)}: --crop ${crop} lies outside the ${width}x${height} upscaled image`,
  unreadable: (path: string, detail: string) => `${shown(path)}: cannot read (${detail}); check the path and its permissions`,
  overBudget: (path: string, needMiB: number, budgetMiB: number, imagesInFlight: number) =>
    `${shown(path)}: needs about ${needMiB} MiB even in the smallest tiles, more than --memory ${budgetMiB} (the enlarged image itself is held in memory); going ahead. Use ${imagesInFlight > 1 ? '-j 1 or ' : ''}a smaller --scale to need less`,
  unwritable: (input: string, output: string, detail: string) =>
    `${shown(input)}: cannot write ${shown(output)} (${detail}); check the folder exists and is writable, and that the disk has space`,
  modelNotOnnx: (option: string, path: string, detail: string) => `${option} ${shown(path)}: not a loadable ONNX model (${detail})`,
  modelBadInput: (option: string, path: string, shape: string) =>
    `${option} ${shown(path)}: expected one float32 input of shape [1,3,H,W] but the model takes ${shape}`,
  modelBadScale: (option: string, path: string, scale: string) =>
    `${option} ${shown(path)}: output is not a whole-number multiple of the input (ratio ${scale})`,
  modelRunFailed: (model: string, detail: string) => `Model ${shown(model)} failed: ${detail}`,
  deviceUnavailable: (option: string, device: string, available: readonly string[]) =>
    `${option} ${device} is not available on this machine (onnxruntime-node offers ${available.join(', ')}); use ${option} cpu or auto`,
  deviceChosen: (device: string, precision: string, reason: string) => `upscale: using ${device}, ${precision}${reason ? ` (${reason})` : ''}`,
  int8OnCpu: () => 'int8 runs on the CPU',
  int8NoVnni: () =>
    'this CPU has no VNNI (avx512_vnni or avx_vnni), which int8 is made for: the output is the same, its speed against fp32 varies between such CPUs (npm run bench measures it)',
  int8NeedsVnni: (option: string) => `${option} auto picks int8 only on CPUs with VNNI (avx512_vnni or avx_vnni), which this one lacks`,
  int8Chosen: (worst: number, median: number, option: string) =>
    `${option} auto: this CPU has VNNI, so int8, whose output differs from fp32's (PSNR on the held-out set: worst ${worst} dB, median ${median} dB); ${option} fp32 for the exact model`,
  sixteenBitInFp32: () => 'upscale: 16-bit images run in fp32 (the int8 model reads 8-bit samples)',
  noInt8: (option: string, model: string, withInt8: readonly string[]) =>
    `${option} int8: ${shown(model)} has no int8 form; ${withInt8.join(', ')} have one. Use ${option} fp32 or auto`,
  providerInstalled: (label: string) => `${label} provider installed`,
  providerMissing: (label: string) => `no ${label} provider installed; see README "GPU"`,
  providerFailed: (label: string, detail: string) => `${label} failed to start: ${detail}`,
  pageUnwritable: (flag: string, page: string, detail: string) =>
    `${flag} ${shown(page)}: cannot write the page (${detail}); choose a folder that exists and is writable`,
  pageWritten: (page: string) => `wrote ${shown(page)}`,
  compareCropOutside: (image: string, crop: string, width: number, height: number) =>
    `${shown(image)}: --crop ${crop} lies outside the ${width}x${height} image (compare crops in input pixels)`,
  noShardEnvironment: (option: string, countOption: string, countVariable: string, engines: readonly { engine: string; index: string; count?: string }[]) => {
    const named = engines.map((e) => `${e.index} (${e.engine}, with ${e.count ?? `${countOption} or ${countVariable}`})`);
    return `${option} auto found no shard index in the environment: none of ${named.slice(0, -1).join(', ')} or ${named.at(-1)} is set; elsewhere pass ${option} <i>/<n>`;
  },
  noShardCount: (auto: string, indexVariable: string, countOption: string, countVariable: string) =>
    `${auto}: ${indexVariable} gives this worker's index but nothing gives the shard count; pass ${countOption} <n> or set ${countVariable}`,
  shardCountsDisagree: (auto: string, a: string, b: string) =>
    `${auto}: ${a} and ${b} disagree on the shard count; give one, or make them agree`,
  interrupted: (graceSeconds: number) =>
    `Interrupted: no new image starts; those in flight stop at their next tile, unfinished (within ${graceSeconds} s, else the process exits at once), then the summary; press Ctrl-C again to stop at once`,
  interruptedFile: (input: string) => `${shown(input)}: interrupted`,
} as const;

/**
 * The stable code of each per-file error, as `FileResult.code` and the JSON report carry it: scripts match these,
 * never the wording.
 */
export const ERROR_CODES = {
  brokenLink: 'ERR_INPUT_BROKEN_LINK',
  unreadable: 'ERR_INPUT_UNREADABLE',
  notRegularFile: 'ERR_INPUT_NOT_FILE',
  emptyFolder: 'ERR_INPUT_EMPTY_FOLDER',
  emptyFile: 'ERR_INPUT_EMPTY',
  unsupportedInput: 'ERR_INPUT_FORMAT',
  corruptInput: 'ERR_INPUT_DECODE',
  manyPages: 'ERR_INPUT_PAGES',
  animatedPng: 'ERR_INPUT_APNG',
  videoNotHere: 'ERR_INPUT_VIDEO',
  animatedToStill: 'ERR_ANIMATED_TO_STILL',
  noSuchFrame: 'ERR_NO_SUCH_FRAME',
  imageToVideo: 'ERR_IMAGE_TO_VIDEO',
  videoToImage: 'ERR_VIDEO_TO_IMAGE',
  frameOfVideo: 'ERR_FRAME_OF_VIDEO',
  codecNotInContainer: 'ERR_VIDEO_CODEC',
  streamsNotInContainer: 'ERR_VIDEO_STREAMS',
  crfOfCodec: 'ERR_VIDEO_CRF',
  oddVideoSize: 'ERR_VIDEO_ODD_SIZE',
  frameTooLargeToInterpolate: 'ERR_INTERPOLATE_TOO_LARGE',
  noFfmpeg: 'ERR_NO_FFMPEG',
  noVideoStream: 'ERR_VIDEO_NO_STREAM',
  emptyVideo: 'ERR_VIDEO_EMPTY',
  corruptVideo: 'ERR_VIDEO_DECODE',
  encodeVideoFailed: 'ERR_VIDEO_ENCODE',
  tooManyPixels: 'ERR_INPUT_TOO_LARGE',
  cropOutside: 'ERR_CROP_OUTSIDE',
  outputCollision: 'ERR_OUTPUT_COLLISION',
  outputExists: 'ERR_OUTPUT_EXISTS',
  outputTooLarge: 'ERR_OUTPUT_TOO_LARGE',
  unwritable: 'ERR_OUTPUT_WRITE',
  unexpected: 'ERR_UNEXPECTED',
  interruptedFile: 'ERR_INTERRUPTED',
  pageUnwritable: 'ERR_REPORT_WRITE',
} as const satisfies Partial<Record<keyof typeof messages, `ERR_${string}`>>;

/** Every code an error can carry: the per-file ones, and those of a usage error, a model failure and an interruption. */
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES] | 'ERR_USAGE' | 'ERR_MODEL';
