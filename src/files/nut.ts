/**
 * A minimal NUT muxer for raw RGB frames with their own timestamps: how upscaled frames reach the ffmpeg that encodes
 * them. Raw video over a pipe carries no timestamps, and NUT is the container ffmpeg reads raw video from with exact
 * ones in any time base, so a variable frame rate survives. Written from the NUT specification as ffmpeg's demuxer
 * reads it (version 3): one stream, every frame a keyframe preceded by a syncpoint, sizes and timestamps coded in
 * full in each frame header.
 */

const FILE_ID = Buffer.from('nut/multimedia container\0', 'latin1');
const MAIN_STARTCODE = 0x4e4d7a561f5f04adn;
const STREAM_STARTCODE = 0x4e5311405bf2f9dbn;
const SYNCPOINT_STARTCODE = 0x4e4be4adeeca4569n;

/** Frame code flags: keyframe, pts coded, size coded, header checksum. */
const FLAG_KEY = 1;
const FLAG_CODED_PTS = 8;
const FLAG_SIZE_MSB = 32;
const FLAG_CHECKSUM = 64;
const FRAME_FLAGS = FLAG_KEY | FLAG_CODED_PTS | FLAG_SIZE_MSB | FLAG_CHECKSUM;

/** ffmpeg's tag for packed 8-bit RGB. */
const RGB24 = Buffer.from([0x52, 0x47, 0x42, 24]);

/** CRC-32 as NUT uses it: polynomial 0x04C11DB7, most significant bit first, starting from 0. */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n << 24;
  for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
  return c >>> 0;
});

function crc(bytes: Uint8Array, start = 0): number {
  let c = start;
  for (const byte of bytes) c = ((c << 8) ^ CRC_TABLE[((c >>> 24) ^ byte) & 0xff]!) >>> 0;
  return c;
}

/** NUT's unsigned variable-length number: 7 bits a byte, most significant first, high bit = more follows. */
function v(value: number | bigint): number[] {
  let n = BigInt(value);
  if (n < 0n) throw new RangeError('NUT numbers are unsigned');
  const bytes = [Number(n & 0x7fn)];
  for (n >>= 7n; n > 0n; n >>= 7n) bytes.unshift(Number(n & 0x7fn) | 0x80);
  return bytes;
}

/** NUT's signed number, as ffmpeg's get_s reads it. */
function s(value: number): number[] {
  return v(value > 0 ? 2 * value - 1 : -2 * value);
}

function u32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

function u64(value: bigint): number[] {
  return Array.from({ length: 8 }, (_, k) => Number((value >> BigInt(56 - 8 * k)) & 0xffn));
}

/** A packet: startcode, forward pointer, body and the body's checksum (bodies here stay under the 4096 bytes that would need a header checksum too). */
function packet(startcode: bigint, body: number[]): Buffer {
  const checked = Buffer.from(body);
  return Buffer.from([...u64(startcode), ...v(checked.length + 4), ...checked, ...u32(crc(checked))]);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

export interface NutStream {
  width: number;
  height: number;
  /** The time base of every timestamp, as a fraction of a second: the source video's own. */
  timeBase: { num: number; den: number };
}

/** File id, main header and stream header. */
export function nutHeader({ width, height, timeBase }: NutStream): Buffer {
  const divisor = gcd(timeBase.num, timeBase.den);
  // One frame-code run for all 255 codes (NUT skips 'N'): every field coded in the frame header itself.
  const frameCodes = [...v(FRAME_FLAGS), ...v(6), ...s(0), ...v(1), ...v(0), ...v(0), ...v(0), ...v(255)];
  const main = [...v(3), ...v(1), ...v(65536), ...v(1), ...v(timeBase.num / divisor), ...v(timeBase.den / divisor), ...frameCodes, ...v(0)];
  const stream = [...v(0), ...v(0), ...v(RGB24.length), ...RGB24, ...v(0), ...v(0), ...v(0), ...v(0), ...v(0), ...v(0), ...v(width), ...v(height), ...v(0), ...v(0), ...v(0)];
  return Buffer.concat([FILE_ID, packet(MAIN_STARTCODE, main), packet(STREAM_STARTCODE, stream)]);
}

/**
 * One frame of packed RGB at `pts` (in the stream's time base, not negative): a syncpoint, then the frame header.
 * The pixels follow as they are, so they are never copied.
 */
export function nutFrameHeader(pts: number, bytes: number): Buffer {
  const syncpoint = packet(SYNCPOINT_STARTCODE, [...v(pts), ...v(0)]);
  // msb_pts_shift is 0, so a coded pts is the pts plus 1.
  const header = Buffer.from([0, ...v(pts + 1), ...v(bytes)]);
  return Buffer.concat([syncpoint, header, Buffer.from(u32(crc(header)))]);
}
