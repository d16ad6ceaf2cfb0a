/**
 * The frame-interpolation network (`--interpolate`): RIFE v4.6's flow network (models/manifest.json `interpolation`),
 * opened in an inference process of its own, making the frame at time t between two frames at their own size.
 */
import { existsSync } from 'node:fs';
import { errorLine, ModelError, UsageError } from '../core/errors.js';
import { messages } from '../core/messages.js';
import type { Image } from '../core/image.js';
import { fromPlanes, toPlanes, type FramePlanes } from '../pixels/frames.js';
import { readInterpolation } from '../models/catalog.js';
import { availableDevices, type ConcreteDevice } from './providers.js';
import { openOn } from './worker.js';

export interface Interpolator {
  /**
   * The frame at `t` (0 < t < 1) between two frames of one size and layout, in that layout. Alpha, where the frames
   * have it, is interpolated by a run of its own (the flow of the outline).
   */
  between(a: Image, b: Image, t: number): Promise<Image>;
  release(): Promise<void>;
}

/** What a run interpolates with (`--interpolate`): the factor, the scene-cut threshold and the network, loaded on first use. */
export interface Motion {
  n: number;
  sceneThreshold: number;
  interpolator: () => Promise<Interpolator>;
}

/**
 * The largest frame, in pixels, the flow network is given whole: 4K UHD. Measured peak memory of one run (AMD EPYC,
 * onnxruntime CPU): 250 MiB at 640×480, 1.1 GB at 1920×1088, 4.0 GB at 4096×2176; it grows with the pixels.
 */
export const MAX_INTERPOLATED_PIXELS = 3840 * 2160;

/** Opens the network on the CPU, or on `device` (fp32: the flow network has no int8 form). */
export async function loadInterpolator(device: ConcreteDevice, deviceOption: string): Promise<Interpolator> {
  const entry = readInterpolation();
  if (!existsSync(entry.path)) throw new ModelError(messages.modelRunFailed(entry.name, 'file not found'));
  let opened: Awaited<ReturnType<typeof openOn>>;
  try {
    opened = await openOn(entry.path, device);
  } catch (error) {
    if (device !== 'cpu') throw new UsageError(messages.deviceUnavailable(deviceOption, device, availableDevices()));
    throw new ModelError(messages.modelRunFailed(entry.name, errorLine(error)));
  }
  const { worker } = opened;
  const run = async (a: Float32Array, b: Float32Array, t: number, planes: FramePlanes, depth: Image['depth']): Promise<Image['data']> => {
    const dims = [1, 3, planes.height, planes.width];
    const timestep = new Float32Array(planes.width * planes.height).fill(t);
    const result = await worker.request(
      {
        type: 'run',
        data: a,
        dims,
        depth,
        feeds: [
          { name: 'frame1', type: 'float32', data: b, dims },
          { name: 'timestep', type: 'float32', data: timestep, dims: [1, 1, planes.height, planes.width] },
        ],
      },
      depth,
    );
    return result.pixels!;
  };
  return {
    async between(a, b, t) {
      try {
        const [pa, pb] = [toPlanes(a, entry.align), toPlanes(b, entry.align)];
        const colour = await run(pa.rgb, pb.rgb, t, pa, a.depth);
        const alpha = pa.alpha && (await run(pa.alpha, pb.alpha!, t, pa, a.depth));
        return fromPlanes(colour, alpha, pa.width, a);
      } catch (error) {
        throw new ModelError(messages.modelRunFailed(entry.name, errorLine(error)));
      }
    },
    release: () => worker.close(),
  };
}
