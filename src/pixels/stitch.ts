/**
 * Stitches model output tiles straight into the output pixel buffer. Where only one tile covers a pixel (weight 1,
 * everywhere outside the cross-fades) its value is rounded straight into the output; only the cross-fade strips
 * are accumulated in float32 until every tile that covers them has been added. With an exact overlap there are no
 * fades and no float buffer at all.
 */
import { allocateImage, type Image } from '../core/image.js';
import { axisWeights, weightSpan, type TilePlan } from './tile.js';

export class Stitcher {
  readonly output: Image;
  /** Output rows fading between tile row r − 1 and r (above) and between r and r + 1 (below), full width. */
  private above: Float32Array;
  private below: Float32Array;
  /** Output columns fading between tile c − 1 and c (left) and between c and c + 1 (right), middle rows only. */
  private left: Float32Array;
  private right: Float32Array;
  /** Fade width in output pixels. */
  private readonly fade: number;
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
    this.fade = 2 * plan.feather * scale;
    const middleRows = plan.rows[0]!.size * scale;
    this.above = new Float32Array(this.fade * this.output.width * channels);
    this.below = new Float32Array(this.above.length);
    this.left = new Float32Array(this.fade * middleRows * channels);
    this.right = new Float32Array(this.left.length);
    this.columnWeights = plan.columns.map((_, i) => axisWeights(plan.columns, i, scale, plan.feather));
    this.rowWeights = plan.rows.map((_, i) => axisWeights(plan.rows, i, scale, plan.feather));
  }

  /** Adds one tile's model output (interleaved RGB at the output's depth, window size × scale) with its blend weights. */
  add(rowIndex: number, columnIndex: number, tile: Image['data']): void {
    const { plan, scale, output, fade } = this;
    const column = plan.columns[columnIndex]!;
    const row = plan.rows[rowIndex]!;
    const tileWidth = column.size * scale;
    const xs = weightSpan(plan.columns, columnIndex, scale, plan.feather);
    const ys = weightSpan(plan.rows, rowIndex, scale, plan.feather);
    // Rows [top, bottom) no other tile row reaches.
    const top = rowIndex === 0 ? ys.from : ys.from + fade;
    const bottom = rowIndex === plan.rows.length - 1 ? ys.to : ys.to - fade;
    // Columns [xs.from, leftEnd) fade with the tile before, [rightStart, xs.to) with the tile after.
    const leftEnd = columnIndex === 0 ? xs.from : xs.from + fade;
    const rightStart = columnIndex === plan.columns.length - 1 ? xs.to : xs.to - fade;
    const originX = column.start * scale;
    const originY = row.start * scale;
    const wx = this.columnWeights[columnIndex]!;
    const wy = this.rowWeights[rowIndex]!;
    for (let y = ys.from; y < ys.to; y++) {
      const source = (y - originY) * tileWidth - originX;
      if (y < top) {
        this.accumulate(this.above, output.width, y - ys.from, 0, tile, source, xs.from, xs.to, wy[y - originY]!, wx, originX);
      } else if (y >= bottom) {
        this.accumulate(this.below, output.width, y - bottom, 0, tile, source, xs.from, xs.to, wy[y - originY]!, wx, originX);
      } else {
        this.accumulate(this.left, fade, y - top, xs.from, tile, source, xs.from, leftEnd, 1, wx, originX);
        this.writeDirect(y, tile, source, leftEnd, rightStart);
        this.accumulate(this.right, fade, y - top, rightStart, tile, source, rightStart, xs.to, 1, wx, originX);
      }
    }
    if (columnIndex > 0) this.flush(this.left, fade, top, bottom, xs.from);
    [this.left, this.right] = [this.right, this.left];
  }

  /** Adds weighted samples of one output row, columns [from, to), into a strip `stripWidth` wide starting at column `stripX`. */
  private accumulate(
    strip: Float32Array,
    stripWidth: number,
    stripRow: number,
    stripX: number,
    tile: Image['data'],
    source: number,
    from: number,
    to: number,
    rowWeight: number,
    wx: Float32Array,
    originX: number,
  ): void {
    const channels = this.output.channels;
    let at = (stripRow * stripWidth + from - stripX) * channels;
    for (let x = from; x < to; x++) {
      const weight = rowWeight * wx[x - originX]!;
      const s = (source + x) * 3;
      if (channels === 3) {
        strip[at++]! += weight * tile[s]!;
        strip[at++]! += weight * tile[s + 1]!;
        strip[at++]! += weight * tile[s + 2]!;
      } else {
        strip[at++]! += (weight * (tile[s]! + tile[s + 1]! + tile[s + 2]!)) / 3;
      }
    }
  }

  /** Rounds samples of one output row, columns [from, to), that only this tile covers straight into the output. */
  private writeDirect(y: number, tile: Image['data'], source: number, from: number, to: number): void {
    const { data, width, channels } = this.output;
    const at = (y * width + from) * channels;
    if (channels === 3) {
      data.set(tile.subarray((source + from) * 3, (source + to) * 3), at);
    } else {
      for (let s = (source + from) * 3, end = (source + to) * 3, i = at; s < end; s += 3) {
        data[i++] = Math.round((tile[s]! + tile[s + 1]! + tile[s + 2]!) / 3);
      }
    }
  }

  /** Rounds a finished strip (rows [top, bottom), `stripWidth` columns from column `x`) into the output and clears it. */
  private flush(strip: Float32Array, stripWidth: number, top: number, bottom: number, x: number): void {
    const { data, width, channels } = this.output;
    const rowLength = stripWidth * channels;
    for (let y = top; y < bottom; y++) {
      const from = (y - top) * rowLength;
      const to = (y * width + x) * channels;
      for (let i = 0; i < rowLength; i++) data[to + i] = Math.round(strip[from + i]!);
    }
    strip.fill(0);
  }

  /** Call after the last tile of a row: the fade above it is complete; the fade below becomes the next row's above. */
  finishRow(rowIndex: number): void {
    const { plan, scale, fade } = this;
    if (rowIndex > 0) {
      const from = weightSpan(plan.rows, rowIndex, scale, plan.feather).from;
      this.flush(this.above, this.output.width, from, from + fade, 0);
    }
    [this.above, this.below] = [this.below, this.above];
  }
}
