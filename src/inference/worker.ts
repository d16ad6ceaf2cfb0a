/**
 * The inference process and its transport: one child process holding one onnxruntime session (inference-child.cjs),
 * requests and replies over IPC, a run's pixels over a pipe of their own.
 *
 * onnxruntime-node's `session.run` blocks the calling thread for the whole forward pass, so sessions live in a
 * child process: the main thread stays free to decode and encode other images, draw progress and answer Ctrl-C.
 */
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { ProcessLostError } from '../core/errors.js';
import type { Image } from '../core/image.js';
import type { Reply as ChildReply, RequestBody } from './protocol.js';
import { trackChild } from '../files/leftovers.js';
import { sessionOptions, type ConcreteDevice } from './providers.js';

/**
 * The inference process's program: a JavaScript file beside this module, so the path holds for the TypeScript
 * sources under test and for the compiled package alike.
 */
const CHILD = fileURLToPath(new URL('./inference-child.cjs', import.meta.url));

/** A reply as the parent holds it: the pixels read from their pipe join it. */
export type Reply = ChildReply & { pixels?: Image['data'] };

/**
 * One child process holding one onnxruntime session; requests are answered in order. A process rather than a
 * worker thread, because a thread stuck in a native forward pass cannot be stopped without aborting the program,
 * while a process can simply be killed.
 */
export class SessionWorker {
  private readonly child: ChildProcess;
  private readonly pixelPipe: Socket;
  private readonly pending = new Map<
    number,
    { resolve: (reply: Reply) => void; reject: (error: Error) => void; samples?: Image['depth']; into?: Image['data'] }
  >();
  /** Replies whose pixels are still arriving, in the order the pixels come. */
  private readonly arriving: { target: Uint8Array; filled: number; finish: () => void; fail: (error: Error) => void }[] = [];
  /** Pixel bytes that came before the reply they belong to. */
  private readonly early: Buffer[] = [];
  private next = 0;

  constructor() {
    // fd 4 carries tile pixels as raw bytes: no serialising, and no copy beyond the one into the tile's buffer.
    // --single-threaded: onnxruntime brings its own threads; V8's helper threads only cost memory (about 18 MiB).
    this.child = spawn(process.execPath, ['--single-threaded', '--expose-gc', CHILD], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc', 'pipe'],
      serialization: 'advanced',
    });
    this.pixelPipe = this.child.stdio[4] as Socket;
    trackChild(this.child);
    this.child.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      const settle = () => {
        this.idleUnlessBusy();
        if (reply.error !== undefined) waiter?.reject(new Error(reply.error));
        else waiter?.resolve(reply);
      };
      if (!reply.bytes) return settle();
      const into = waiter?.into;
      const Samples = waiter?.samples === 16 ? Uint16Array : Uint8Array;
      const pixels = into instanceof Samples && into.byteLength === reply.bytes ? into : new Samples(reply.bytes / Samples.BYTES_PER_ELEMENT);
      reply.pixels = pixels;
      this.arriving.push({ target: new Uint8Array(pixels.buffer), filled: 0, finish: settle, fail: (error) => waiter?.reject(error) });
      this.takePixels();
    });
    this.pixelPipe.on('data', (chunk: Buffer) => {
      this.early.push(chunk);
      this.takePixels();
    });
    this.child.on('error', (error) => this.failAll(error));
    this.child.on('exit', (code, signal) => {
      this.failAll(new ProcessLostError(`inference process ended (${signal ?? `exit code ${code}`})`));
    });
    this.idleUnlessBusy();
  }

  /** Moves received pixel bytes into the buffers of the replies waiting for them. */
  private takePixels(): void {
    while (this.arriving.length > 0 && this.early.length > 0) {
      const payload = this.arriving[0]!;
      const chunk = this.early[0]!;
      const taken = Math.min(chunk.length, payload.target.length - payload.filled);
      payload.target.set(chunk.subarray(0, taken), payload.filled);
      payload.filled += taken;
      if (taken === chunk.length) this.early.shift();
      else this.early[0] = chunk.subarray(taken);
      if (payload.filled === payload.target.length) {
        this.arriving.shift();
        payload.finish();
      }
    }
  }

  /** An idle inference process must not keep the program alive; one with work pending must. */
  private idleUnlessBusy(): void {
    const channel = this.child.channel as { ref(): void; unref(): void } | undefined;
    if (this.pending.size === 0 && this.arriving.length === 0) {
      this.child.unref();
      channel?.unref();
      this.pixelPipe.unref();
    } else {
      this.child.ref();
      channel?.ref();
      this.pixelPipe.ref();
    }
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    for (const payload of this.arriving) payload.fail(error);
    this.pending.clear();
    this.arriving.length = 0;
  }

  /**
   * Sends a request. A run's pixels arrive as `samples`-bit values, into `into` if it is of that type and size.
   */
  request(message: RequestBody, samples?: Image['depth'], into?: Image['data']): Promise<Reply> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, samples, into });
      this.idleUnlessBusy();
      this.child.send({ ...message, id });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.connected) await this.request({ type: 'release' }).catch(() => undefined);
    if (this.child.connected) this.child.disconnect();
  }
}

export async function openOn(path: string, device: ConcreteDevice): Promise<{ worker: SessionWorker; reply: Reply }> {
  const worker = new SessionWorker();
  try {
    return { worker, reply: await worker.request({ type: 'open', path, options: sessionOptions(device) }) };
  } catch (error) {
    await worker.close();
    throw error;
  }
}
