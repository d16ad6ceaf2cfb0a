/** The inference process's conversion of a network's output to the samples that cross the pixel pipe. */
import { describe, expect, it } from 'vitest';
import { quantise } from '../src/inference/inference-child.cjs';

describe('quantise: NCHW float32 in [0, 1] to HWC samples', () => {
  it.each([
    ['rounds to nearest, 8-bit', 8, [0.2, 0.5, 0.498, 1 / 255], [51, 128, 127, 1]],
    ['rounds to nearest, 16-bit', 16, [0.2, 0.5, 0.498, 1 / 65535], [13107, 32768, 32636, 1]],
    ['clamps below 0 and above 1', 8, [-0.1, -Infinity, 1, 1.5, Infinity], [0, 0, 255, 255, 255]],
    ['clamps at the 16-bit peak', 16, [1, 2], [65535, 65535]],
    ['turns NaN into 0', 16, [NaN, 0], [0, 0]],
  ] as const)('%s', (_, depth, values, expected) => {
    const out = quantise(new Float32Array(values), 1, values.length, depth);
    expect(out).toBeInstanceOf(depth === 16 ? Uint16Array : Uint8Array);
    expect([...out]).toEqual(expected);
  });

  it('interleaves channel planes into pixels (HWC)', () => {
    // Two pixels: planes R = [0.2, 0.4], G = [0.6, 0.8], B = [0, 1].
    const out = quantise(new Float32Array([0.2, 0.4, 0.6, 0.8, 0, 1]), 3, 2, 8);
    expect([...out]).toEqual([51, 153, 0, 102, 204, 255]);
  });

  it('writes into the spare buffer only when its type and size match', () => {
    const data = new Float32Array([0.2, 0.4, 0.6]);
    const spare = new Uint8Array(3);
    expect(quantise(data, 3, 1, 8, spare)).toBe(spare);
    expect([...spare]).toEqual([51, 102, 153]);
    const bytes = new Uint8Array(6);
    const wide = quantise(data, 3, 1, 16, bytes);
    expect(wide).not.toBe(bytes);
    expect(wide).toBeInstanceOf(Uint16Array);
    const longer = new Uint8Array(4);
    expect(quantise(data, 3, 1, 8, longer)).not.toBe(longer);
  });
});
