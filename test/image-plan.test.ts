/** The plan of one image: passes, planes, tiles and the memory budget, from sizes alone (no pixels). */
import { describe, expect, it } from 'vitest';
import { findModel, probedRun, resolveRun, type Run } from '../src/models/catalog.js';
import { defaultOverlap, defaultTile, passesFor, planImage, type ImageShape } from '../src/run/image-plan.js';

describe('tile defaults and passes', () => {
  const srvgg = { kind: 'network' as const, name: 'x4v3', path: '', receptiveFieldRadius: 34, architecture: 'SRVGGNetCompact' as const };
  const rrdb = { ...srvgg, receptiveFieldRadius: 349, architecture: 'RRDBNet' as const };

  it('overlap covers an SRVGG receptive field exactly; RRDB gets a 32 px feathered overlap', () => {
    expect(defaultOverlap(srvgg)).toBe(34);
    expect(defaultOverlap(rrdb)).toBe(32);
  });

  const photo = (width: number, height: number) => ({ width, height, channels: 3, depth: 8 as const, scale: 4, imagesInFlight: 2 });

  it.each([
    // model, image, budget MiB → tile (0: the whole image in one window)
    { model: srvgg, image: photo(1024, 768), memory: 2048, tile: 0 }, // a 1 Mpx photo runs whole at the default
    { model: srvgg, image: photo(1600, 1200), memory: 2048, tile: 886 }, // too big: the largest square window that fits
    { model: srvgg, image: photo(1024, 768), memory: 512, tile: 255 },
    { model: srvgg, image: { ...photo(1024, 768), imagesInFlight: 1 }, memory: 512, tile: 319 }, // one image in flight leaves more
    { model: srvgg, image: { ...photo(1024, 768), depth: 16 as const }, memory: 512, tile: 47 }, // 16-bit pixels cost twice
    { model: rrdb, image: photo(256, 256), memory: 2048, tile: 0 },
    { model: rrdb, image: photo(1024, 768), memory: 2048, tile: 263 }, // RRDB's activations are ~10× SRVGG's
    { model: srvgg, image: photo(8000, 6000), memory: 2048, tile: 16 }, // the output alone exceeds the budget
  ])('$model.architecture, $image.width×$image.height, --memory $memory: tile $tile', ({ model, image, memory, tile }) => {
    const sizing = defaultTile(model, defaultOverlap(model), memory, image);
    expect(sizing.tile).toBe(tile);
    // The estimate stays within the budget whenever a tile of at least 16 px fits it.
    if (tile !== 16) expect(sizing.estimateMiB).toBeLessThanOrEqual(memory);
    else expect(sizing.estimateMiB).toBeGreaterThan(memory);
  });

  it.each([
    [4, 4, 1],
    [2.5, 4, 1],
    [8, 4, 2],
    [16, 4, 2],
    [6, 2, 3],
    [1, 4, 1],
  ])('scale %s with a ×%i model takes %i pass(es)', (scale, modelScale, passes) => {
    expect(passesFor(scale, modelScale)).toBe(passes);
  });
});

describe('planImage', () => {
  const run = (model: string, scale?: number): Run => {
    const resolved = resolveRun(findModel(model)!, scale);
    if (resolved.kind === 'unprobed') throw new Error('a shipped model is never unprobed');
    return resolved;
  };
  const networkRun = (model: string, scale?: number) => {
    const resolved = run(model, scale);
    if (resolved.kind !== 'network') throw new Error(`${model} is not a network`);
    return resolved;
  };
  const shape = (width: number, height: number, channels: number, alpha = false): ImageShape => ({ width, height, channels, depth: 8, alpha });
  const settings = (tile?: number, memory = 2048) => ({ tile, memory, imagesInFlight: 1 });
  /** Per pass: input size, stitch depth, windows across × down. */
  const layout = (plan: ReturnType<typeof planImage>) => plan.passes.map((p) => `${p.width}x${p.height}@${p.depth}: ${p.tiles.columns.length}x${p.tiles.rows.length}`);

  it.each([
    // The -x2 variant runs the ×4 network once, stitched at 16 bits for the resize after it; 32 px tiles with the
    // network's 18 px of context cut 160×128 into 5 × 4 windows, for each plane that runs through the network.
    { name: 'translucent RGBA, -x2', image: shape(160, 128, 4, true), model: 'realesr-animevideov3', scale: 2, layout: ['160x128@16: 5x4'], tiles: 40 },
    { name: 'opaque RGBA, -x2', image: shape(160, 128, 4), model: 'realesr-animevideov3', scale: 2, layout: ['160x128@16: 5x4'], tiles: 20 },
    // 8× with a ×4 network: the second pass runs on the first one's 4× larger output.
    { name: 'grey, 8×', image: shape(40, 32, 1), model: 'realesr-animevideov3', scale: 8, layout: ['40x32@8: 1x1', '160x128@8: 5x4'], tiles: 21 },
    { name: 'translucent grey, 8×', image: shape(40, 32, 2, true), model: 'realesr-animevideov3', scale: 8, layout: ['40x32@8: 1x1', '160x128@8: 5x4'], tiles: 42 },
    { name: 'baseline', image: shape(160, 128, 4, true), model: 'bicubic', scale: 2, layout: [], tiles: 1 },
  ])('$name: $tiles tiles', ({ image, model, scale, layout: expected, tiles }) => {
    const plan = planImage(image, run(model, scale), settings(32));
    expect(layout(plan)).toEqual(expected);
    expect(plan.tilesTotal).toBe(tiles);
    expect(plan.estimateMiB).toBeUndefined(); // --tile given: the budget picks nothing
  });

  it('estimates the heaviest pass when the tile follows the budget', () => {
    const eight = networkRun('realesr-general-x4v3', 8);
    const plan = planImage(shape(1000, 1000, 3), eight, settings(undefined, 256));
    const second = defaultTile(eight.network, 34, 256, { width: 4000, height: 4000, channels: 3, depth: 8, scale: 4, imagesInFlight: 1 });
    expect(plan.passes.map((p) => p.tiles.columns[0]!.size)).toEqual([84, 84]); // the 16 px floor plus 34 px each side
    expect(plan.estimateMiB).toBe(second.estimateMiB);
    expect(plan.estimateMiB).toBeGreaterThan(256);
  });

  it('counts the alpha channel in the image held in memory', () => {
    const x4 = networkRun('realesr-general-x4v3');
    const rgb = planImage(shape(1000, 1000, 3), x4, settings(undefined, 2048));
    const rgba = planImage(shape(1000, 1000, 4), x4, settings(undefined, 2048));
    expect(layout(rgb)).toEqual(['1000x1000@8: 1x1']);
    expect(layout(rgba)).toEqual(['1000x1000@8: 1x1']);
    // A fourth channel of 1 Mpx: once in, twice at 16 Mpx out, 33 MB (31.5 MiB) more.
    expect(rgba.estimateMiB! - rgb.estimateMiB!).toBe(32);
  });

  it('--tta runs every plane 8 times, stitched at 16 bits; --alpha-model bicubic leaves the alpha plane out; --strength below 1 stitches at 16 bits', () => {
    const x4 = networkRun('realesr-general-x4v3');
    const rgba = shape(160, 128, 4, true);
    expect(planImage(rgba, x4, settings(32)).tilesTotal).toBe(2 * 20);
    const tta = planImage(rgba, x4, { ...settings(32), tta: true });
    expect([tta.tta, tta.tilesTotal, layout(tta)]).toEqual([true, 8 * 2 * 20, ['160x128@16: 5x4']]);
    const bicubic = planImage(rgba, x4, { ...settings(32), alphaModel: 'bicubic' as const });
    expect([bicubic.alpha, bicubic.tilesTotal]).toEqual([false, 20]);
    expect(layout(planImage(rgba, x4, { ...settings(32), strength: 0.5 }))).toEqual(['160x128@16: 5x4']);
    // Each image in flight holds a turned copy and a float32 sum of its outputs besides (and its 16-bit output).
    const whole = (tta: boolean) => planImage(shape(500, 500, 3), x4, { ...settings(undefined), tta }).estimateMiB!;
    expect(whole(true) - whole(false)).toBeGreaterThanOrEqual((500 * 500 * 3 * (1 + 4 * 16)) / 2 ** 20);
  });

  it('a custom network, once probed, gets the 32 px overlap and the heavier memory model', () => {
    const custom = resolveRun(findModel('net.onnx')!, undefined);
    if (custom.kind !== 'unprobed') throw new Error('a custom model is unprobed until loaded');
    const plan = planImage(shape(300, 200, 3), probedRun(custom, 2), settings(undefined, 512));
    expect(plan.passes).toHaveLength(1);
    expect(plan.passes[0]!.tiles.columns[0]!.start).toBe(0);
    expect(plan.passes[0]!.tiles.columns[1]!.coreStart - plan.passes[0]!.tiles.columns[1]!.start).toBe(32);
    expect(plan.tilesTotal).toBe(40);
    expect(plan.estimateMiB).toBeLessThanOrEqual(512);
  });
});
