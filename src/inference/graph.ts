/** Graphs run in this process, on whole tensors, with no child process: the model build's, which calibrate and measure the int8 models. */
import { sessionOptions } from './providers.js';

type Values = Float32Array | Float64Array | Uint8Array;

/** A graph run in this process, on whole tensors: for the model build, which calibrates and measures the int8 models. */
export interface Graph {
  run(inputs: Record<string, { data: Values; dims: number[] }>): Promise<Record<string, { data: Values; dims: readonly number[] }>>;
  release(): Promise<void>;
}

export async function openGraph(model: Uint8Array): Promise<Graph> {
  const ort = (await import('onnxruntime-node')).default;
  const session = await ort.InferenceSession.create(model, sessionOptions('cpu'));
  const types = { Float32Array: 'float32', Float64Array: 'float64', Uint8Array: 'uint8' } as const;
  return {
    async run(inputs) {
      const feeds = Object.fromEntries(
        Object.entries(inputs).map(([name, { data, dims }]) => [name, new ort.Tensor(types[data.constructor.name as keyof typeof types], data, dims)]),
      );
      const outputs = await session.run(feeds);
      return Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, { data: t.data as Values, dims: t.dims }]));
    },
    release: () => session.release(),
  };
}
