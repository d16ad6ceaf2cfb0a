/**
 * Progress on stderr, in the form that suits where it goes: bars on a terminal, a plain line every few seconds for a
 * long image in a log (no carriage returns, no colour), or one JSON object per line (`--progress json`) for a CI step
 * or a wrapper UI. All three follow the library's events.
 */
import cliProgress from 'cli-progress';
import { shown } from '../core/messages.js';
import type { UpscaleEvent, UpscaleSummary } from '../core/results.js';

export const PROGRESS_MODES = ['auto', 'json', 'none'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

export interface Progress {
  onEvent(event: UpscaleEvent): void;
  /** Writes one line to `stream` as this display allows: above the bars when both share the terminal. */
  line(stream: NodeJS.WritableStream & { isTTY?: boolean }, text: string): void;
  /** The batch is over: bars are taken down, a JSON stream gets its summary. */
  finish(summary?: UpscaleSummary): void;
}

const plainLine = (stream: NodeJS.WritableStream, text: string) => void stream.write(`${text}\n`);

/** Whether the command line asks for `--progress json`, read before it is parsed: then every stderr line is JSON, errors included. */
export function asksJsonProgress(args: readonly string[]): boolean {
  return args.some((arg, i) => arg === '--progress=json' || (arg === '--progress' && args[i + 1] === 'json'));
}

/** One JSON object on a line of its own, as `--progress json` writes everything on stderr. */
export function jsonLine(object: Record<string, unknown>): string {
  return `${JSON.stringify(object)}\n`;
}

/** How often a log gets a line about an image still running. */
const PLAIN_EVERY_MS = 5000;

/** Milliseconds left, from the rate so far: undefined until there is a rate. */
function eta(startedAt: number, done: number, total: number, now: number): number | undefined {
  return done > 0 ? Math.round(((now - startedAt) / done) * (total - done)) : undefined;
}

export function makeProgress(mode: ProgressMode, stream: NodeJS.WritableStream & { isTTY?: boolean }, now = () => performance.now()): Progress {
  if (mode === 'none') return { onEvent: () => undefined, line: plainLine, finish: () => undefined };
  if (mode === 'json') return jsonProgress(stream, now);
  return stream.isTTY ? barProgress(stream) : plainProgress(stream, now);
}

/** One JSON object per line: `start`, `tile`, `file` and `summary`, with counts, bytes and estimates in ms. */
function jsonProgress(stream: NodeJS.WritableStream, now: () => number): Progress {
  const write = (object: Record<string, unknown>) => stream.write(jsonLine(object));
  const began = now();
  const imageStarted = new Map<string, number>();
  let total = 0;
  let done = 0;
  return {
    onEvent(event) {
      const at = now();
      if (event.type === 'plan') total = event.files.length;
      if (event.type === 'start') {
        imageStarted.set(event.input, at);
        write({ event: 'start', input: event.input, index: done + imageStarted.size, total, tilesTotal: event.tilesTotal, framesTotal: event.framesTotal });
      }
      if (event.type === 'tile') {
        const frames = event.framesTotal !== undefined && { framesDone: event.framesDone, framesTotal: event.framesTotal };
        write({ event: 'tile', input: event.input, tilesDone: event.tilesDone, tilesTotal: event.tilesTotal, ...frames, etaMs: eta(imageStarted.get(event.input) ?? at, event.tilesDone, event.tilesTotal, at) });
      }
      if (event.type === 'done') {
        imageStarted.delete(event.input);
        done++;
        const { result } = event;
        write({
          event: 'file',
          input: event.input,
          output: result?.output,
          status: result?.status ?? 'error',
          code: result?.code,
          error: result?.error,
          bytes: result?.bytes,
          ms: result?.ms,
          done,
          total,
          etaMs: eta(began, done, total, at),
        });
      }
    },
    line: plainLine,
    finish(summary) {
      if (summary) write({ event: 'summary', ...summary });
    },
  };
}

/** A line every few seconds for an image that takes that long; quick images say nothing until their ✔ line. */
function plainProgress(stream: NodeJS.WritableStream, now: () => number): Progress {
  const images = new Map<string, { started: number; said: number }>();
  return {
    onEvent(event) {
      const at = now();
      if (event.type === 'start') images.set(event.input, { started: at, said: at });
      if (event.type === 'done') images.delete(event.input);
      if (event.type !== 'tile') return;
      const image = images.get(event.input);
      if (!image || at - image.said < PLAIN_EVERY_MS || event.tilesDone === event.tilesTotal) return;
      image.said = at;
      const left = eta(image.started, event.tilesDone, event.tilesTotal, at)!;
      const count = event.framesTotal === undefined ? `${event.tilesDone}/${event.tilesTotal} tiles` : `${event.framesDone}/${event.framesTotal} frames`;
      stream.write(`${shown(event.input)}: ${count}, about ${Math.ceil(left / 1000)} s left\n`);
    },
    line: plainLine,
    finish: () => undefined,
  };
}

/** One bar per image, by tiles (a video's by frames, with the time left), and one for the batch, by images: on a terminal only. */
function barProgress(stream: NodeJS.WritableStream): Progress {
  const multibar = new cliProgress.MultiBar(
    { stream, clearOnComplete: true, hideCursor: true, format: ' {bar} {value}/{total} {name}' },
    cliProgress.Presets.shades_classic,
  );
  const overall = multibar.create(1, 0, { name: 'images' });
  const bars = new Map<string, cliProgress.SingleBar>();
  let finished = 0;
  return {
    onEvent(event) {
      if (event.type === 'plan') overall.setTotal(event.files.length);
      if (event.type === 'start') {
        const video = event.framesTotal !== undefined ? { format: ' {bar} {value}/{total} frames, {eta_formatted} left {name}' } : {};
        bars.set(event.input, multibar.create(event.framesTotal ?? event.tilesTotal, 0, { name: shown(event.input) }, video));
      }
      if (event.type === 'tile') bars.get(event.input)?.update(event.framesDone ?? event.tilesDone);
      if (event.type === 'done') {
        const bar = bars.get(event.input);
        if (bar) multibar.remove(bar);
        bars.delete(event.input);
        overall.update(++finished);
      }
    },
    // A stream on the bars' terminal gets its line above them; one redirected elsewhere, as it comes.
    line: (target, text) => (target.isTTY ? multibar.log(`${text}\n`) : plainLine(target, text)),
    finish: () => multibar.stop(),
  };
}
