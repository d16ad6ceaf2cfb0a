/** Which model answers for `--model` and `--scale`, which network runs behind it, and at what scale. */
import { describe, expect, it } from 'vitest';
import { findModel, probedRun, resolveRun } from '../src/models/catalog.js';

describe('resolveRun', () => {
  const summary = (model: string, scale?: number) => {
    const run = resolveRun(findModel(model)!, scale);
    if (run.kind === 'unprobed') return { kind: run.kind, requested: run.requested.name, scale: run.scale };
    if (run.kind === 'baseline') return { kind: run.kind, requested: run.requested.name, variant: run.variant.name, scale: run.scale };
    return { kind: run.kind, requested: run.requested.name, variant: run.variant.name, network: run.network.name, resize: run.resize, scale: run.scale };
  };
  const network = (requested: string, variant: string, scale: number, resize?: { cubicA: number }) => ({
    kind: 'network',
    requested,
    variant,
    network: resize ? 'realesr-animevideov3-x4' : variant,
    resize,
    scale,
  });

  it.each([
    // --model, --scale → the run
    ['realesr-general-x4v3', undefined, network('realesr-general-x4v3', 'realesr-general-x4v3', 4)],
    ['realesr-general-x4v3', 2.5, network('realesr-general-x4v3', 'realesr-general-x4v3', 2.5)],
    // A family answers with its largest variant by default, else the nearest one; -x2 and -x3 run the ×4 network
    // and resize after it.
    ['realesr-animevideov3', undefined, network('realesr-animevideov3', 'realesr-animevideov3-x4', 4)],
    ['realesr-animevideov3', 2, network('realesr-animevideov3', 'realesr-animevideov3-x2', 2, { cubicA: -0.75 })],
    ['realesr-animevideov3', 2.5, network('realesr-animevideov3', 'realesr-animevideov3-x3', 2.5, { cubicA: -0.75 })], // ties go to the larger
    ['realesr-animevideov3', 8, network('realesr-animevideov3', 'realesr-animevideov3-x4', 8)],
    ['realesr-animevideov3-x3', undefined, network('realesr-animevideov3-x3', 'realesr-animevideov3-x3', 3, { cubicA: -0.75 })],
    ['bicubic', undefined, { kind: 'baseline', requested: 'bicubic', variant: 'bicubic', scale: 4 }],
    ['nearest', 3, { kind: 'baseline', requested: 'nearest', variant: 'nearest', scale: 3 }],
    // A custom file's scale is unknown until a probe run.
    ['mine.onnx', undefined, { kind: 'unprobed', requested: 'mine.onnx', scale: undefined }],
    ['mine.onnx', 3, { kind: 'unprobed', requested: 'mine.onnx', scale: 3 }],
  ])('%s at --scale %s', (model, scale, expected) => {
    expect(summary(model, scale)).toEqual(expected);
  });

  it.each([
    [undefined, 2],
    [3, 3],
  ])('a custom network probed at ×2, at --scale %s, runs at %s, itself its own variant and network', (scale, expected) => {
    const unprobed = resolveRun(findModel('mine.onnx')!, scale);
    if (unprobed.kind !== 'unprobed') throw new Error('a custom model is unprobed until loaded');
    const run = probedRun(unprobed, 2);
    expect(run).toMatchObject({ kind: 'network', scale: expected, variant: { name: 'mine.onnx', scale: 2 }, network: { name: 'mine.onnx', scale: 2 } });
    expect(run.resize).toBeUndefined();
  });
});
