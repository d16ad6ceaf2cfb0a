/**
 * Frame interpolation (`--interpolate n`) over a sequence of frames at their input size, before the upscale: n − 1
 * frames made between each pair, except across a scene cut, where the earlier frame is repeated instead.
 */
import type { Image } from '../core/image.js';
import { MAX_INTERPOLATED_PIXELS, type Motion } from '../inference/interpolator.js';
import { inputError } from '../core/errors.js';
import { frameDifference, isSceneCut, splitDelay, timesteps } from '../pixels/frames.js';
import type { Animation } from '../files/decode.js';
import { checkAbort } from './upscale.js';

/** The steps of one sequence in order: the frames between each pair (the scene-cut test needs the step before). */
export class Inbetweener {
  private previous = 0;

  constructor(
    private readonly motion: Motion,
    private readonly signal?: AbortSignal,
  ) {}

  /** The n − 1 frames between `a` and `b`, the next step of the sequence: made, or `a` repeated at a cut. */
  async between(a: Image, b: Image): Promise<Image[]> {
    const difference = frameDifference(a, b);
    const cut = isSceneCut(difference, this.previous, this.motion.sceneThreshold);
    this.previous = difference;
    const times = timesteps(this.motion.n);
    if (cut) return times.map(() => a);
    const interpolator = await this.motion.interpolator();
    const made: Image[] = [];
    for (const t of times) {
      checkAbort(this.signal);
      made.push(await interpolator.between(a, b, t));
    }
    return made;
  }
}

/** --interpolate's header check: frames within the size the flow network is given whole. */
export function checkInterpolable(input: string, width: number, height: number): void {
  if (width * height > MAX_INTERPOLATED_PIXELS) throw inputError('frameTooLargeToInterpolate', input, width, height, MAX_INTERPOLATED_PIXELS);
}

/** Frames an animation of `frames` becomes: n for each, but the last of one that plays once, which stays alone. */
export function interpolatedCount(frames: number, n: number, loops: boolean): number {
  return frames <= 1 ? frames : loops ? frames * n : (frames - 1) * n + 1;
}

/**
 * An animation's frames with the new ones between each pair, each source delay shared among the frames that replace
 * it (in the output format's `delayStep`). A looping animation (loop count 0, or more than once) also gets frames
 * from its last frame back to its first.
 */
export async function interpolateAnimation(
  frames: readonly Image[],
  animation: Animation,
  motion: Motion,
  delayStep: number,
  signal?: AbortSignal,
): Promise<{ frames: Image[]; animation: Animation }> {
  const loops = animation.loop !== 1;
  const steps = new Inbetweener(motion, signal);
  const out: Image[] = [];
  const delay: number[] = [];
  for (const [k, frame] of frames.entries()) {
    const next = k + 1 < frames.length ? frames[k + 1] : loops ? frames[0] : undefined;
    const own = animation.delay[k] ?? 100;
    if (!next) {
      out.push(frame);
      delay.push(own);
      continue;
    }
    out.push(frame, ...(await steps.between(frame, next)));
    delay.push(...splitDelay(own, motion.n, delayStep));
  }
  return { frames: out, animation: { ...animation, delay } };
}
