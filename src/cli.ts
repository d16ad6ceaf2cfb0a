/** The command line: a Commander program built by `makeProgram`, run in-process by tests and by bin/upscale.js. */
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { Chalk } from 'chalk';
import { Command, CommanderError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { BASELINE_SCALE, BASELINES, readManifest } from './catalog.js';
import { compare, COMPARE_MODELS } from './compare.js';
import { EXIT, exitCodeFor, InputError, UsageError } from './errors.js';
import { runBatch } from './index.js';
import { messages, shown } from './messages.js';
import { flagOf, OPTIONS, resolveOptions, type OptionSpec, type ResolvedOptions, type UpscaleOptions } from './options.js';
import type { FileResult } from './pipeline.js';
import { disableSharpCache } from './sharp-raw.js';
import { interruptedResult, makeReport, type Batch, type UpscaleReport } from './summary.js';
import { removeTemporaries } from './write.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Set by the bin shim: SIGINT/SIGTERM stop the batch cleanly. */
  signal?: AbortSignal;
  /**
   * Set by the bin shim: takes what must still be written, synchronously, if the process is then stopped at once
   * (a second signal, or the grace period running out).
   */
  onHardExit?: (lastWords: () => void) => void;
}

/** What the program parses: the library's options, as strings and switches, and the CLI's own. */
type CliFlags = UpscaleOptions & { json?: boolean; quiet?: boolean };

/** The table's options, as Commander options: help text with the parser's range or choices, and the default. */
function addTableOptions(program: Command): void {
  for (const [key, spec] of Object.entries(OPTIONS) as [string, OptionSpec<unknown>][]) {
    const flag = flagOf(key);
    const value = spec.arg ? ` ${spec.arg}` : '';
    const help = typeof spec.help === 'function' ? spec.help(spec.parse.text ?? '') : spec.help;
    const shown = spec.arg && spec.default !== undefined ? ` (default: ${String(spec.default)})` : '';
    program.addOption(new Option(`${spec.short ? `-${spec.short}, ` : ''}${flag}${value}`, help + shown));
    if (spec.alias) {
      program.addOption(new Option(`--${spec.alias}${value}`).hideHelp());
      program.on(`option:${spec.alias}`, (given: unknown) => program.setOptionValue(key, given));
    }
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Progress bars only on a terminal: a pipe or CI log gets no carriage returns. */
function progressBars(io: Io, enabled: boolean) {
  if (!enabled || !io.stderr.isTTY) return undefined;
  const multibar = new cliProgress.MultiBar(
    { stream: io.stderr as NodeJS.WritableStream, clearOnComplete: true, hideCursor: true, format: ' {bar} {value}/{total} {name}' },
    cliProgress.Presets.shades_classic,
  );
  return multibar;
}

function summaryLine(report: UpscaleReport): string {
  const { summary } = report;
  const parts = [
    summary.planned ? `${summary.planned} planned` : `${summary.ok} upscaled`,
    summary.skipped ? `${summary.skipped} skipped` : '',
    summary.failed ? `${summary.failed} failed` : '',
    summary.notStarted ? `${summary.notStarted} not started` : '',
  ].filter(Boolean);
  const earlier = summary.earlierOutputs ? `; ${messages.earlierOutputsSkipped(summary.earlierOutputs)}` : '';
  const shard = summary.shard ? `shard ${summary.shard.index}/${summary.shard.count}: ` : '';
  return `${shard}${parts.join(', ')} in ${seconds(summary.ms)}${summary.interrupted ? ' (interrupted)' : ''}${earlier}`;
}

function fileLine(file: FileResult, colour: InstanceType<typeof Chalk>): string {
  const size = file.width ? ` (${file.width}x${file.height} → ${file.outWidth}x${file.outHeight})` : '';
  const [input, output] = [shown(file.input), shown(file.output)];
  if (file.status === 'planned') return `${input} → ${output}${size}`;
  if (file.status === 'skipped') return colour.dim(`skipped ${input}: ${output} exists`);
  return `${colour.green('✔')} ${input} → ${output}${size} ${colour.dim(seconds(file.ms))}`;
}

export function makeProgram(io: Io, done: (code: number) => void): Command {
  const colour = new Chalk({ level: io.stderr.isTTY && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb' ? 1 : 0 });
  const program = new Command('upscale');
  const writeErr = (line: string) => io.stderr.write(`${line}\n`);
  program
    .description('Upscale images 2x-8x with Real-ESRGAN networks or classic interpolation, then crop, rotate, flip or resize them.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .argument('[inputs...]', 'image files, folders (walked recursively) and quoted globs');
  addTableOptions(program);
  program
    .option('--json', 'print one JSON report on stdout')
    .option('--quiet', 'print errors only')
    .showHelpAfterError(false)
    // `upscale models --json`: options after a subcommand belong to it.
    .enablePositionalOptions()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(text.replace(/^error: /, 'upscale: ')),
    })
    .exitOverride()
    .action(async (inputs: string[], flags: CliFlags) => {
      const started = performance.now();
      const bars = progressBars(io, !flags.quiet && !flags.json);
      const fileBars = new Map<string, cliProgress.SingleBar>();
      let overall: cliProgress.SingleBar | undefined;
      let finished = 0;
      // What the batch has come to so far, for a report if the process is stopped before upscale() returns.
      let batch: Batch | undefined;
      let resolved: ResolvedOptions | undefined;
      const results = new Map<string, FileResult | undefined>();
      let reported = false;
      const printReport = (report: UpscaleReport) => {
        if (reported) return;
        reported = true;
        io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      };
      if (flags.json) {
        io.onHardExit?.(() => {
          // Stopped before the batch was planned (while the model loads): nothing started, and the scale is not yet
          // known (NaN, which JSON prints as null).
          const known = batch ?? {
            files: [],
            earlierOutputs: 0,
            model: flags.model ?? OPTIONS.model.default,
            scale: NaN,
            device: flags.device ?? OPTIONS.device.default,
            ...(resolved?.shard && { shard: resolved.shard }),
          };
          const files = known.files.filter((f) => results.has(f.input)).map((f) => results.get(f.input) ?? interruptedResult(f, known.model));
          printReport(makeReport(known, files, true, Math.round(performance.now() - started)));
        });
      }
      const options: UpscaleOptions = {
        ...flags,
        env: io.env,
        signal: io.signal,
        onNotice: (line) => (flags.quiet ? undefined : writeErr(colour.dim(line))),
        onEvent: (event) => {
          if (event.type === 'plan') (batch = event), overall?.setTotal(event.files.length);
          // An image in flight has no result yet; a finished one has, unless it was interrupted.
          if (event.type === 'start' || event.type === 'done') results.set(event.input, event.type === 'done' ? event.result : undefined);
          if (!bars) return;
          if (event.type === 'start') fileBars.set(event.input, bars.create(event.tilesTotal, 0, { name: event.input }));
          if (event.type === 'tile') fileBars.get(event.input)?.setTotal(event.tilesTotal), fileBars.get(event.input)?.update(event.tilesDone);
          if (event.type === 'done') {
            const bar = fileBars.get(event.input);
            if (bar) bars.remove(bar);
            fileBars.delete(event.input);
            overall?.update(++finished);
          }
        },
      };
      let report: UpscaleReport;
      try {
        if (bars) overall = bars.create(1, 0, { name: 'images' });
        resolved = resolveOptions(options, 'flag');
        report = await runBatch(inputs, resolved);
      } finally {
        bars?.stop();
      }
      for (const file of report.files) {
        if (file.status === 'error') writeErr(colour.red(file.error ?? `${file.input}: failed`));
        else if (!flags.quiet && !flags.json) io.stdout.write(`${fileLine(file, colour)}\n`);
      }
      if (flags.json) printReport(report);
      else if (!flags.quiet) writeErr(summaryLine(report));
      if (flags.report !== undefined && !flags.quiet && !flags.json) writeErr(messages.pageWritten(flags.report));
      done(report.summary.interrupted ? EXIT.interrupted : report.summary.failed > 0 ? EXIT.failed : EXIT.ok);
    });

  program
    .command('models')
    .description('list the models with scale, architecture, parameters, licence and source')
    .option('--json', 'print { "models": [...] } on stdout')
    .action((flags: { json?: boolean }) => {
      const networks = readManifest().map(({ name, scale, architecture, parameters, macsPerPixel, receptiveFieldRadius, bestFor, speedClass, licence, source }) => ({
        name,
        scale,
        architecture: architecture as string,
        parameters: parameters as number | null,
        macsPerPixel: macsPerPixel as number | null,
        receptiveFieldRadius: receptiveFieldRadius as number | null,
        bestFor,
        speedClass,
        licence: licence as string | null,
        source: `${source.package} ${source.path}` as string | null,
      }));
      // -m takes the baselines too, so a script validating -m against this list must find them; null where a field
      // does not apply to an interpolation.
      const baselines = BASELINES.map((name) => ({
        name,
        scale: BASELINE_SCALE,
        architecture: 'interpolation',
        parameters: null,
        macsPerPixel: null,
        receptiveFieldRadius: null,
        bestFor: 'comparison, pixel art (nearest)',
        speedClass: 'fast' as const,
        licence: null,
        source: null,
      }));
      const models = [...networks, ...baselines];
      if (flags.json) {
        io.stdout.write(`${JSON.stringify({ models }, null, 2)}\n`);
      } else {
        const rows = networks.map((m) => [m.name, `x${m.scale}`, m.architecture, `${(m.parameters! / 1e6).toFixed(2)} M`, m.speedClass, m.bestFor, m.licence!]);
        const header = ['name', 'scale', 'architecture', 'parameters', 'speed', 'best for', 'licence'];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        for (const row of [header, ...rows]) io.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
        io.stdout.write(`baselines: ${BASELINES.join(', ')} (x${BASELINE_SCALE} by default, any --scale)\n`);
      }
      done(EXIT.ok);
    });

  program
    .command('compare')
    .description('run one image (or a crop of it) through several models and write a page showing the same region of each side by side, with the time each took')
    .argument('<image>', 'the image to compare on')
    .option('-m, --model <a,b,c>', `models and baselines, comma-separated: ${OPTIONS.model.parse.text}, or .onnx files (default: ${COMPARE_MODELS.join(',')})`)
    .option('-s, --scale <n>', `output scale for every model, ${OPTIONS.scale.parse.text} (default: each model's own)`)
    .option('--crop <left,top,width,height>', 'compare this region only, in input pixels (slow models stay quick)')
    .option('-o, --output <file.html>', 'the page to write; the images go in the folder beside it named <page>_files')
    .option('--device <device>', `execution provider: ${OPTIONS.device.parse.text} (default: ${OPTIONS.device.default})`)
    .action(async (image: string, flags: { model?: string; scale?: string; crop?: string; output?: string; device?: string }) => {
      const result = await compare(image, {
        models: flags.model,
        scale: flags.scale,
        crop: flags.crop,
        output: flags.output,
        device: flags.device,
        signal: io.signal,
        onNotice: (line) => writeErr(colour.dim(line)),
      });
      for (const r of result.results) {
        if (r.error) writeErr(colour.red(`${r.model}: ${r.error}`));
        else io.stdout.write(`${r.model}: ${r.width}x${r.height} in ${seconds(r.ms!)} (${seconds(r.totalMs!)} with model loading)\n`);
      }
      writeErr(messages.pageWritten(result.page));
      done(result.results.some((r) => r.error) ? EXIT.failed : EXIT.ok);
    });
  return program;
}

/** The package's own version, from its package.json (one folder up from both src/ and dist/). */
function packageVersion(): string {
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

/** Runs the CLI and resolves to its exit code; the only place exit codes are decided. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  let code: number = EXIT.ok;
  const program = makeProgram(io, (c) => (code = c));
  try {
    const args = argv.slice(2);
    if (args.length === 0) {
      program.outputHelp();
      return EXIT.usage;
    }
    await program.parseAsync(argv as string[]);
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    removeTemporaries();
    const exit = exitCodeFor(error);
    // An InputError reaching here names one file the run could not read or write (compare's image, a --report page).
    if (error instanceof Error && (exit !== EXIT.failed || error instanceof UsageError || error instanceof InputError)) {
      io.stderr.write(`upscale: ${error.message}\n`);
    } else {
      // Not a user error: a bug. Keep the stack so it can be reported.
      io.stderr.write(`upscale: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    return exit;
  }
}

/**
 * The process entry point: SIGINT/SIGTERM stop new work and let images in flight finish (they stop at the next
 * tile); after 2 s, or at a second signal, the process exits at once. Temporary files are removed either way.
 */
export async function runProcess(argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  let lastWords: (() => void) | undefined;
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) {
      process.stderr.write(`${messages.interrupted()}\n`);
      controller.abort();
      setTimeout(() => exitNow(), 2000).unref();
    } else {
      exitNow();
    }
  };
  const exitNow = () => {
    // Exiting also kills the inference processes (see inference.ts).
    removeTemporaries();
    lastWords?.();
    process.exit(EXIT.interrupted);
  };
  const stdout = synchronousStdout();
  // `upscale … | head` closes the pipe early: that is the reader's choice, not an error.
  stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT.ok);
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  disableSharpCache();
  const io: Io = { stdout, stderr: process.stderr, env: process.env, signal: controller.signal, onHardExit: (write) => (lastWords = write) };
  return main(argv, io);
}

/**
 * fd 1, written synchronously: process.exit (the hard stop) drops whatever a pipe has not yet taken, and the JSON
 * report must reach a CI step whole. Once `write` returns, the bytes are the reader's.
 */
function synchronousStdout(): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      try {
        for (let offset = 0; offset < chunk.length; ) {
          try {
            offset += writeSync(1, chunk, offset);
          } catch (error) {
            // A non-blocking pipe that is full: give the reader a moment.
            if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
          }
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}
