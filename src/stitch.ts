/**
 * Stitches model output tiles into the output pixel buffer. Only a band of rows as tall as one window is held in
 * float32 (where tiles of neighbouring rows still have to blend); finished rows are rounded straight into the output.
 */
import { allocateImage, maxSample, type Image } from './image.js';
import { axisWeights, weightSpan, type TilePlan } from './tile.js';

export class Stitcher {
  readonly output: Image;
  private readonly band: Float32Array;
  private readonly bandRows: number;
  private bandTop = 0;
  private readonly columnWeights: Float32Array[];
  private readonly rowWeights: Float32Array[];

  /**
   * @param channels 3 for colour; 1 to keep a grey image (or an alpha plane) single-channel: the mean of the
   *   model's three outputs.
   */
  constructor(
    private readonly plan: TilePlan,
    private readonly scale: number,
    width: number,
    height: number,
    channels: 1 | 3,
    depth: Image['depth'],
  ) {
    this.output = allocateImage(width * scale, height * scale, channels, depth);
    const single = plan.rows.length === 1 && plan.columns.length === 1;
    // One tile needs no blending band; otherwise the band holds one window's height of output rows.
    this.bandRows = single ? 0 : plan.rows[0]!.size * scale;
    this.band = new Float32Array(this.bandRows * this.output.width * channels);
    this.columnWeights = plan.columns.map((_, i) => axisWeights(plan.columns, i, scale, plan.feather));
    this.rowWeights = plan.rows.map((_, i) => axisWeights(plan.rows, i, scale, plan.feather));
  }

  /** Adds one tile's model output (float32 NCHW RGB, window size × scale), clamped to [0, 1], with its weights. */
  add(rowIndex: number, columnIndex: number, tensor: Float32Array): void {
    if (this.plan.rows.length === 1 && this.plan.columns.length === 1) return this.writeWhole(tensor);
    const { plan, scale, output } = this;
    const column = plan.columns[columnIndex]!;
    const row = plan.rows[rowIndex]!;
    const tileWidth = column.size * scale;
    const plane = tileWidth * row.size * scale;
    const xs = weightSpan(plan.columns, columnIndex, scale, plan.feather);
    const ys = weightSpan(plan.rows, rowIndex, scale, plan.feather);
    const originX = column.start * scale;
    const originY = row.start * scale;
    const wx = this.columnWeights[columnIndex]!;
    const wy = this.rowWeights[rowIndex]!;
    const channels = output.channels;
    for (let y = ys.from; y < ys.to; y++) {
      const ty = y - originY;
      const rowWeight = wy[ty]!;
      let to = ((y - this.bandTop) * output.width + xs.from) * channels;
      let from = ty * tileWidth + (xs.from - originX);
      for (let x = xs.from; x < xs.to; x++, from++) {
        const weight = rowWeight * wx[x - originX]!;
        const r = clamp01(tensor[from]!);
        const g = clamp01(tensor[plane + from]!);
        const b = clamp01(tensor[2 * plane + from]!);
        if (channels === 3) {
          this.band[to++] += weight * r;
          this.band[to++] += weight * g;
          this.band[to++] += weight * b;
        } else {
          this.band[to++] += (weight * (r + g + b)) / 3;
        }
      }
    }
  }

  /** A single tile covers the image: round straight into the output, no blending band needed. */
  private writeWhole(tensor: Float32Array): void {
    const { output } = this;
    const plane = output.width * output.height;
    const peak = maxSample(output.depth);
    const data = output.data;
    if (output.channels === 3) {
      for (let p = 0, to = 0; p < plane; p++, to += 3) {
        data[to] = Math.round(clamp01(tensor[p]!) * peak);
        data[to + 1] = Math.round(clamp01(tensor[plane + p]!) * peak);
        data[to + 2] = Math.round(clamp01(tensor[2 * plane + p]!) * peak);
      }
    } else {
      for (let p = 0; p < plane; p++) {
        data[p] = Math.round(((clamp01(tensor[p]!) + clamp01(tensor[plane + p]!) + clamp01(tensor[2 * plane + p]!)) / 3) * peak);
      }
    }
  }

  /** Call after the last tile of a row: rows no later tile touches are rounded into the output. */
  finishRow(rowIndex: number): void {
    const { plan, scale, output } = this;
    if (this.bandRows === 0) return;
    const done = rowIndex === plan.rows.length - 1 ? output.height : weightSpan(plan.rows, rowIndex + 1, scale, plan.feather).from;
    const rowLength = output.width * output.channels;
    const finished = (done - this.bandTop) * rowLength;
    const peak = maxSample(output.depth);
    const offset = this.bandTop * rowLength;
    for (let i = 0; i < finished; i++) output.data[offset + i] = Math.round(this.band[i]! * peak);
    this.band.copyWithin(0, finished);
    this.band.fill(0, this.band.length - finished);
    this.bandTop = done;
  }
}

function clamp01(value: number): number {
  // NaN (a broken custom model) becomes 0 rather than poisoning the blend.
  return value > 0 ? (value < 1 ? value : 1) : 0;
}
