/**
 * The inference process's program (see `SessionWorker` in worker.ts): it owns one onnxruntime session and answers
 * numbered requests over the IPC channel; a run's pixels go back as raw bytes on fd 4.
 *
 * JavaScript with JSDoc types, checked by tsc (checkJs) and copied to dist/ by the build, so the very same file runs
 * from the sources under test and from the compiled package: node 20 cannot run TypeScript itself. CommonJS, because
 * node's ES module loader alone costs this process about 2 MiB more.
 */
const { Socket } = require('node:net');
const ort = require('onnxruntime-node');

/**
 * NCHW float32 in [0, 1] to HWC samples of the output depth, rounded and clamped (NaN becomes 0), in stitching
 * order. Writes into `spare` when it is of that type and size.
 * @param {ArrayLike<number>} data
 * @param {number} channels
 * @param {number} plane pixels per channel
 * @param {import('../core/image.js').Image['depth']} depth
 * @param {Uint8Array | Uint16Array} [spare]
 * @returns {Uint8Array | Uint16Array}
 */
function quantise(data, channels, plane, depth, spare) {
  const Samples = depth === 16 ? Uint16Array : Uint8Array;
  const peak = depth === 16 ? 65535 : 255;
  const out = spare instanceof Samples && spare.length === channels * plane ? spare : new Samples(channels * plane);
  for (let c = 0; c < channels; c++) {
    for (let p = 0, from = c * plane, to = c; p < plane; p++, from++, to += channels) {
      const v = /** @type {number} */ (data[from]);
      out[to] = v > 0 ? (v < 1 ? Math.round(v * peak) : peak) : 0;
    }
  }
  return out;
}

/** @typedef {import('./protocol.js').Request} Request */
/** @typedef {import('./protocol.js').Reply} Reply */

function serve() {
  // Failures reach the user as one line from the parent; onnxruntime's own log would repeat them with a native trace.
  ort.env.logLevel = 'fatal';
  // Ctrl-C, and a SIGTERM from a terminal or CI runner, reach the whole process group: the parent decides whether
  // this process finishes its tile or is killed.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  const pixels = new Socket({ fd: 4, readable: false, writable: true });
  // Once the parent is gone there is no one to answer: leave, quietly. A reply or pixels sent as it goes (it may
  // have been killed outright) fail with EPIPE or ERR_IPC_CHANNEL_CLOSED, which say the same.
  const leave = () => process.exit(0);
  process.on('disconnect', leave);
  process.on('error', leave);
  pixels.on('error', leave);
  /** @type {Uint8Array | Uint16Array | undefined} the last tile's buffer, once the pipe has taken it */
  let spare;
  /** @type {ort.InferenceSession | undefined} */
  let session;
  /** @param {Reply} message */
  const reply = (message) => /** @type {NonNullable<typeof process.send>} */ (process.send)(message);

  process.on('message', async (/** @type {Request} */ request) => {
    const { id } = request;
    try {
      if (request.type === 'open') {
        session = await ort.InferenceSession.create(request.path, request.options);
        const inputs = session.inputMetadata.map((m) => ({ isTensor: m.isTensor, type: m.isTensor ? m.type : undefined, shape: m.isTensor ? m.shape : undefined }));
        reply({ id, inputNames: session.inputNames, outputNames: session.outputNames, inputs });
      } else if (request.type === 'run') {
        const running = /** @type {ort.InferenceSession} */ (session);
        // This process's own heap is tiny, but each tile leaves tens of MiB of dead output behind: collect it
        // before the next forward pass rather than let several tiles' worth pile up.
        /** @type {() => void} */ (globalThis.gc)();
        /** @type {Record<string, ort.Tensor>} */
        const feeds = { [/** @type {string} */ (running.inputNames[0])]: new ort.Tensor('float32', request.data, request.dims) };
        for (const feed of request.feeds ?? []) feeds[feed.name] = new ort.Tensor(feed.type, feed.data, feed.dims);
        const result = await running.run(feeds);
        const output = /** @type {ort.Tensor} */ (result[/** @type {string} */ (running.outputNames[0])]);
        // The other outputs are small (the U-Nets' per-channel sums): they travel with the reply.
        const others = Object.fromEntries(running.outputNames.slice(1).map((name) => [name, /** @type {Float32Array} */ (/** @type {ort.Tensor} */ (result[name]).data)]));
        if (request.pixels === false) {
          reply({ id, outputs: others });
          return;
        }
        const [, channels = 0, height = 0, width = 0] = output.dims.length === 4 ? output.dims : [];
        const plane = height * width;
        const tile = quantise(/** @type {Float32Array} */ (output.data), plane ? channels : 0, plane, request.depth, spare);
        spare = undefined;
        // The reply says how many bytes follow on the pixel pipe; both go out in the same tick, so replies and
        // pixel payloads arrive in the same order.
        reply({ id, dims: output.dims, bytes: tile.byteLength, outputs: others });
        pixels.write(new Uint8Array(tile.buffer), () => (spare = tile));
      } else if (request.type === 'release') {
        await session?.release();
        reply({ id });
      }
    } catch (error) {
      reply({ id, error: String(error instanceof Error && error.message ? error.message : error) });
    }
  });
}

// Imported (by the tests), this module only lends `quantise`; spawned, it serves.
if (require.main === module) serve();
module.exports = { quantise };
