/** The command line: a Commander program built by `makeProgram`, run in-process by tests and by bin/upscale.js. */
import { writeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { Chalk } from 'chalk';
import { Command, CommanderError, Option } from 'commander';
import { BASELINE_SCALE, BASELINES, readInterpolation, readManifest } from '../models/catalog.js';
import { compare, COMPARE_MODELS } from '../run/compare.js';
import { EXIT, exitCodeFor, exitCodeForReport, InputError, inputError, UsageError } from '../core/errors.js';
import { runBatch, runImage } from '../run/batch.js';
import { errnoText, messages, shown } from '../core/messages.js';
import { asksJsonProgress, jsonLine, makeProgress, PROGRESS_MODES, type ProgressMode } from './progress.js';
import { writableFormatOf } from '../core/formats.js';
import { flagOf, OPTIONS, resolveOptions, type OptionSpec, type ResolvedOptions, type UpscaleOptions } from '../options/options.js';
import { disableSharpCache } from '../pixels/sharp-raw.js';
import { interruptedResult, makeReport } from '../run/summary.js';
import { exists, writeAtomically } from '../files/write.js';
import { removeTemporaries } from '../files/leftovers.js';
import { commonFolder } from '../inputs/discover.js';
import { countsPhrase, type Batch, type FileResult, type UpscaleReport } from '../core/results.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Where `-` and `--files-from -` read; process.stdin when not given. */
  stdin?: NodeJS.ReadableStream;
  /** Set by the bin shim: SIGINT/SIGTERM stop the batch cleanly. */
  signal?: AbortSignal;
  /**
   * Set by the bin shim: takes what must still be written, synchronously, if the process is then stopped at once
   * (a second signal, or the grace period running out).
   */
  onHardExit?: (lastWords: () => void) => void;
  /** The command line's arguments, for what must be known before Commander parses them (`--progress json`). */
  args?: readonly string[];
}

/** The CLI's own flags, beside the library's options. */
interface CliOnly {
  json?: boolean;
  quiet?: boolean;
  progress?: ProgressMode;
  filesFrom?: string;
  null?: boolean;
}

/** What the program parses: the library's options, as strings and switches, and the CLI's own. */
type CliFlags = UpscaleOptions & CliOnly;

/** The library's options alone: the CLI's own flags left out. */
function libraryOptions(flags: CliFlags): UpscaleOptions {
  const { json: _json, quiet: _quiet, progress: _progress, filesFrom: _filesFrom, null: _null, ...options } = flags;
  return options;
}

/** `-` for an input (stdin) or for `-o` (stdout). */
const STDIO = '-';

/** All of a stream's bytes. */
async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** `--files-from`: input paths, one per line (or NUL-separated), from a file or stdin; blank entries are ignored. */
async function pathsFrom(source: string, nul: boolean, io: Io): Promise<string[]> {
  let text: string;
  try {
    text = (source === STDIO ? await readAll(io.stdin ?? process.stdin) : await readFile(source)).toString('utf8');
  } catch (error) {
    throw new UsageError(messages.unreadableList(source, errnoText((error as NodeJS.ErrnoException).code)));
  }
  return text.split(nul ? '\0' : /\r?\n/).filter((path) => path.trim() !== '');
}

/**
 * One image through pipes: `-` reads it from stdin, `-o -` writes it to stdout (then nothing else goes there, and
 * `-f` names the format). Problems are thrown: `main` prints them as one line and sets the exit code.
 */
async function runPipe(inputs: string[], flags: CliFlags, io: Io): Promise<number> {
  if (inputs.length !== 1) throw new UsageError(messages.pipeOneImage(inputs.length));
  const [input] = inputs as [string];
  const toStdout = flags.output === STDIO;
  if (toStdout && flags.format === undefined) throw new UsageError(messages.stdoutNeedsFormat());
  if (toStdout && flags.json) throw new UsageError(messages.conflictingFlags('-o -', '--json'));
  if (input === STDIO && flags.output === undefined) throw new UsageError(messages.stdinNeedsOutput());
  for (const key of ['dryRun', 'report', 'name', 'skipExisting', 'shard'] as const) {
    if (flags[key] !== undefined && flags[key] !== false) throw new UsageError(messages.conflictingFlags(flagOf(key), toStdout ? '-o - (stdout)' : '- (stdin)'));
  }
  const { output: _output, overwrite = false, ...rest } = libraryOptions(flags);
  const onNotice = (line: string) => (flags.quiet ? undefined : io.stderr.write(`${line}\n`));
  const resolved = resolveOptions({ ...rest, signal: io.signal, onNotice }, 'flag');
  const name = input === STDIO ? 'stdin' : input;
  const bytes = input === STDIO ? await readAll(io.stdin ?? process.stdin) : undefined;
  const target = toStdout ? undefined : flags.output!;
  const format = resolved.format ?? (target ? writableFormatOf(extname(target)) : undefined);
  if (target !== undefined && !overwrite && (await exists(target))) throw inputError('outputExists', name, target);
  const { data, info } = await runImage({ name, bytes }, { ...resolved, format });
  if (target === undefined) {
    io.stdout.write(data);
    return EXIT.ok;
  }
  await writeAtomically(target, (temporary) => writeFile(temporary, data), { overwrite, input: name });
  if (flags.json) io.stdout.write(`${JSON.stringify({ input: name, output: target, ...info }, null, 2)}\n`);
  else if (!flags.quiet) io.stdout.write(`${shown(name)} → ${shown(target)} (${info.width}x${info.height} → ${info.outWidth}x${info.outHeight})\n`);
  return EXIT.ok;
}

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

function summaryLine(report: UpscaleReport): string {
  const { summary } = report;
  const earlier = summary.earlierOutputs ? `; ${messages.earlierOutputsSkipped(summary.earlierOutputs)}` : '';
  const shard = summary.shard ? `shard ${summary.shard.index}/${summary.shard.count}: ` : '';
  return `${shard}${countsPhrase(summary)} in ${seconds(summary.ms)}${summary.interrupted ? ' (interrupted)' : ''}${earlier}`;
}

function fileLine(file: FileResult, colour: InstanceType<typeof Chalk>): string {
  const frames = file.frames ? `, ${file.frames} frames` : '';
  const size = file.width ? ` (${file.width}x${file.height} → ${file.outWidth}x${file.outHeight}${frames})` : '';
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
    .description('Upscale images, animations and videos with Real-ESRGAN, Real-CUGAN and waifu2x networks or classic interpolation, then crop, rotate, flip or resize them.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .argument('[inputs...]', 'image and video files, folders (walked recursively) and quoted globs');
  addTableOptions(program);
  program
    .option('--json', 'print one JSON report on stdout')
    .option('--quiet', 'print errors only')
    .addOption(new Option('--progress <mode>', 'progress on stderr: auto (bars on a terminal, a line every few seconds in a log), json (one object per line), none').choices(PROGRESS_MODES))
    .option('--files-from <file>', 'read input paths from this file, one per line (- for stdin)')
    .option('--null', 'with --files-from: paths are separated by NUL characters (find -print0)')
    .showHelpAfterError(false)
    // `upscale models --json`: options after a subcommand belong to it.
    .enablePositionalOptions()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) =>
        asksJsonProgress(io.args ?? []) ? io.stderr.write(jsonLine({ event: 'error', code: 'ERR_USAGE', message: text.trim().replace(/^error: /, '') })) : write(text.replace(/^error: /, 'upscale: ')),
    })
    .exitOverride()
    .action(async (positional: string[], flags: CliFlags) => {
      const started = performance.now();
      const listed = flags.filesFrom !== undefined ? await pathsFrom(flags.filesFrom, flags.null ?? false, io) : [];
      const inputs = [...positional, ...listed];
      // A list from `find` names files in many folders: they mirror below their common folder, as a walk would.
      const base = flags.base ?? (listed.length > 0 ? commonFolder(listed) : undefined);
      if (inputs.includes(STDIO) || flags.output === STDIO) return done(await runPipe(inputs, flags, io));
      const mode = flags.quiet || (flags.json && flags.progress !== 'json') ? 'none' : (flags.progress ?? 'auto');
      const progress = makeProgress(mode, io.stderr);
      // Each file's line as it finishes, so a log shows the batch as it goes and a hard stop loses none of them.
      const printed = new Set<string>();
      const fileDone = (file: FileResult) => {
        printed.add(file.input);
        // Under --progress json a failure is its `file` event, which carries the message.
        if (file.status === 'error') {
          if (mode !== 'json') progress.line(io.stderr, colour.red(file.error ?? `${file.input}: failed`));
        } else if (!flags.quiet && !flags.json) progress.line(io.stdout, fileLine(file, colour));
      };
      const notice = (line: string) => (mode === 'json' ? io.stderr.write(jsonLine({ event: 'notice', message: line })) : progress.line(io.stderr, colour.dim(line)));
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
            earlierOutputFiles: [],
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
        ...libraryOptions(flags),
        ...(base !== undefined && { base }),
        env: io.env,
        ffmpeg: flags.ffmpeg ?? (io.env.UPSCALE_FFMPEG || undefined),
        signal: io.signal,
        onNotice: (line) => (flags.quiet ? undefined : notice(line)),
        onEvent: (event) => {
          if (event.type === 'plan') {
            batch = event;
            if (!flags.quiet) for (const { file, input } of event.earlierOutputFiles) notice(messages.earlierOutputLeftOut(file, input));
          }
          // An image in flight has no result yet; a finished one has, unless it was interrupted.
          if (event.type === 'start' || event.type === 'done') results.set(event.input, event.type === 'done' ? event.result : undefined);
          progress.onEvent(event);
          if (event.type === 'done' && event.result) fileDone(event.result);
        },
      };
      let report: UpscaleReport | undefined;
      try {
        resolved = resolveOptions(options, 'flag');
        report = await runBatch(inputs, resolved);
      } finally {
        progress.finish(report?.summary);
      }
      // Files that finished without a result of their own (interrupted) get their line now.
      for (const file of report.files) if (!printed.has(file.input)) fileDone(file);
      if (flags.json) printReport(report);
      else if (!flags.quiet && mode !== 'json') writeErr(summaryLine(report));
      if (flags.report !== undefined && !flags.quiet && !flags.json) notice(messages.pageWritten(flags.report));
      done(exitCodeForReport(report));
    });

  program
    .command('models')
    .description('list the models with scale, architecture, parameters, licence and source')
    .option('--json', 'print { "models": [...] } on stdout')
    .action((flags: { json?: boolean }) => {
      const manifest = readManifest();
      // The int8 form that runs for a model: its own, or that of the network it runs (the x2/x3 anime graphs).
      const int8Of = (entry: (typeof manifest)[number]) => entry.int8 ?? manifest.find((m) => m.name === entry.runs?.network)?.int8;
      const networks = manifest.map((entry) => ({ entry, int8: int8Of(entry) })).map(({ entry: { name, scale, noise, architecture, parameters, macsPerPixel, receptiveFieldRadius, bestFor, speedClass, licence, source }, int8 }) => ({
        name,
        scale,
        // The --noise level a variant of realcugan or waifu2x-cunet answers to.
        noise: noise ?? null,
        architecture: architecture as string,
        parameters: parameters as number | null,
        macsPerPixel: macsPerPixel as number | null,
        receptiveFieldRadius: receptiveFieldRadius as number | null,
        bestFor,
        speedClass,
        licence: licence as string | null,
        source: `${source.package} ${source.path}` as string | null,
        // --precision int8's PSNR against fp32 on the held-out set (README "int8"); null: no int8 form.
        int8: int8 ? { worstPsnr: int8.worstPsnr, worstImage: int8.worstImage, medianPsnr: int8.medianPsnr } : null,
      }));
      // -m takes the baselines too, so a script validating -m against this list must find them; null where a field
      // does not apply to an interpolation.
      const baselines = BASELINES.map((name) => ({
        name,
        scale: BASELINE_SCALE,
        noise: null,
        architecture: 'interpolation',
        parameters: null,
        macsPerPixel: null,
        receptiveFieldRadius: null,
        bestFor: 'comparison, pixel art (nearest)',
        speedClass: 'fast' as const,
        licence: null,
        source: null,
        int8: null,
      }));
      const models = [...networks, ...baselines];
      const { path: _, ...interpolation } = readInterpolation();
      if (flags.json) {
        io.stdout.write(`${JSON.stringify({ models, interpolation }, null, 2)}\n`);
      } else {
        const rows = networks.map((m) => [
          m.name,
          `x${m.scale}`,
          m.noise === null ? '-' : String(m.noise),
          m.architecture,
          `${(m.parameters! / 1e6).toFixed(2)} M`,
          m.speedClass,
          m.bestFor,
          m.int8 ? `${m.int8.worstPsnr} / ${m.int8.medianPsnr} dB` : '-',
          m.licence!,
          m.source!.split(' ')[0]!,
        ]);
        const header = ['name', 'scale', 'noise', 'architecture', 'parameters', 'speed', 'best for', 'int8 worst / median', 'licence', 'source'];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        for (const row of [header, ...rows]) io.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
        io.stdout.write(`baselines: ${BASELINES.join(', ')} (x${BASELINE_SCALE} by default, any --scale)\n`);
        const { name, parameters, licence, source } = interpolation;
        io.stdout.write(`frame interpolation (--interpolate): ${name}, ${(parameters / 1e6).toFixed(2)} M parameters, ${licence}, ${source.package}\n`);
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
    .option('--precision <precision>', `${OPTIONS.precision.parse.text} for every network with that form (default: ${OPTIONS.precision.default})`)
    .option('--noise <level>', `denoise level for the models that have levels: ${OPTIONS.noise.parse.text}`)
    .option('--tta', 'each model as the mean over the 8 flips and rotations of the input')
    .action(async (image: string, flags: { model?: string; scale?: string; crop?: string; output?: string; device?: string; precision?: string; noise?: string; tta?: boolean }) => {
      const result = await compare(image, {
        models: flags.model,
        scale: flags.scale,
        crop: flags.crop,
        output: flags.output,
        device: flags.device,
        precision: flags.precision,
        noise: flags.noise,
        tta: flags.tta,
        signal: io.signal,
        onNotice: (line) => writeErr(colour.dim(line)),
      });
      for (const r of result.results) {
        if (r.error) writeErr(colour.red(`${r.model}: ${r.error}`));
        else io.stdout.write(`${r.model}${r.precision ? ` (${r.precision})` : ''}: ${r.width}x${r.height} in ${seconds(r.ms!)} (${seconds(r.totalMs!)} with model loading)\n`);
      }
      writeErr(messages.pageWritten(result.page));
      done(result.results.some((r) => r.error) ? EXIT.failed : EXIT.ok);
    });
  return program;
}

/** The package's own version, from its package.json (one folder up from both src/ and dist/). */
function packageVersion(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

/**
 * Runs the CLI and resolves to its exit code: the one its command settled on (`done` in makeProgram), or the one
 * `exitCodeFor` gives the error that ended it (core/errors.ts); runProcess adds the signals' 130.
 */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  let code: number = EXIT.ok;
  const program = makeProgram({ ...io, args: argv.slice(2) }, (c) => (code = c));
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
      const { code } = error as { code?: string };
      io.stderr.write(asksJsonProgress(argv.slice(2)) ? jsonLine({ event: 'error', code, message: error.message }) : `upscale: ${error.message}\n`);
    } else {
      // Not a user error: a bug. Keep the stack so it can be reported.
      io.stderr.write(`upscale: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    return exit;
  }
}

/** How long a first Ctrl-C waits for the images in flight to stop at their next tile before the process exits at once. */
const INTERRUPT_GRACE_MS = 2000;

/**
 * The process entry point: SIGINT/SIGTERM stop new work, and images in flight stop, unfinished, at their next tile;
 * after INTERRUPT_GRACE_MS, or at a second signal, the process exits at once. Temporary files are removed either way.
 */
export async function runProcess(argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  let lastWords: (() => void) | undefined;
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals === 1) {
      // A terminal has just echoed ^C on the current line: start our own on the next.
      process.stderr.write(
        asksJsonProgress(argv.slice(2)) ? jsonLine({ event: 'interrupted', message: messages.interrupted(INTERRUPT_GRACE_MS / 1000) }) : `${process.stderr.isTTY ? '\n' : ''}${messages.interrupted(INTERRUPT_GRACE_MS / 1000)}\n`,
      );
      controller.abort();
      setTimeout(() => exitNow(), INTERRUPT_GRACE_MS).unref();
    } else {
      exitNow();
    }
  };
  const exitNow = () => {
    // Exiting also kills the inference processes (see files/leftovers.ts).
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
  const io: Io = { stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, signal: controller.signal, onHardExit: (write) => (lastWords = write) };
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
