/**
 * ncnn graph → ONNX ModelProto bytes (opset 17, IR version 8), encoded with protobufjs.
 *
 * Optionally the graph is wrapped so that the file alone is a whole upscaler where the ncnn graph needs its caller's
 * help: the border padding a valid-convolution network expects (`pad`), the nearest-upsampled input added to its
 * output (`addInput`), and its global poolings opened up for statistics gathered over tiles (`pools`).
 *
 * Only the subset of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto, proto2)
 * needed here is declared; field numbers are the upstream ones.
 *
 * Output is deterministic: node, initializer and value names derive only from the ncnn graph,
 * in graph order, and nothing time- or environment-dependent is written.
 */
import protobuf from 'protobufjs';
import { floatToHalf, type Activation, type NcnnGraph, type WeightBlob } from './ncnn.js';
import { analyzeGraph, cropRange } from './analysis.js';
import { residualPRelu } from './prelu.js';

const ONNX_SUBSET = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10;
  }
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  optional AttributeType type = 20;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  optional string domain = 7;
}

message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  enum DataType {
    UNDEFINED = 0; FLOAT = 1; UINT8 = 2; INT8 = 3; UINT16 = 4; INT16 = 5; INT32 = 6;
    INT64 = 7; STRING = 8; BOOL = 9; FLOAT16 = 10; DOUBLE = 11;
  }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional string name = 8;
  optional bytes raw_data = 9;
  optional string doc_string = 12;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

/** TensorProto.DataType values used here. */
export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;
const { FLOAT: DT_FLOAT, INT64: DT_INT64, BOOL: DT_BOOL } = DT;
const AT = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;
/** An end past any dimension: ONNX Slice clamps it. */
export const TO_THE_END = 2 ** 62;

let modelType: protobuf.Type | undefined;
function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_SUBSET, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

export interface Attribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  ints?: number[];
}
export interface Node {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  attribute: Attribute[];
  domain?: string;
}
export interface Tensor {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

export const attrInt = (name: string, i: number): Attribute => ({ name, type: AT.INT, i });
export const attrFloat = (name: string, f: number): Attribute => ({ name, type: AT.FLOAT, f });
export const attrInts = (name: string, ints: number[]): Attribute => ({ name, type: AT.INTS, ints });
export const attrString = (name: string, s: string): Attribute => ({ name, type: AT.STRING, s: new TextEncoder().encode(s) });

const SETTERS = {
  [DT.FLOAT]: [4, (v: DataView, k: number, x: number) => v.setFloat32(4 * k, x, true)],
  [DT.UINT8]: [1, (v: DataView, k: number, x: number) => v.setUint8(k, x)],
  [DT.INT8]: [1, (v: DataView, k: number, x: number) => v.setInt8(k, x)],
  [DT.INT32]: [4, (v: DataView, k: number, x: number) => v.setInt32(4 * k, x, true)],
  [DT.INT64]: [8, (v: DataView, k: number, x: number) => v.setBigInt64(8 * k, BigInt(x), true)],
  [DT.BOOL]: [1, (v: DataView, k: number, x: number) => v.setUint8(k, x ? 1 : 0)],
  [DT.FLOAT16]: [2, (v: DataView, k: number, x: number) => v.setUint16(2 * k, x, true)],
  [DT.DOUBLE]: [8, (v: DataView, k: number, x: number) => v.setFloat64(8 * k, x, true)],
} as const;

/** An initializer of one of the {@link DT} types, little-endian raw data (float16 given as its bits). */
export function tensor(name: string, dims: number[], type: (typeof DT)[keyof typeof DT], data: ArrayLike<number>): Tensor {
  const [size, set] = SETTERS[type];
  const raw = new Uint8Array(data.length * size);
  const view = new DataView(raw.buffer);
  for (let k = 0; k < data.length; k++) set(view, k, data[k]!);
  return { name, dims, data_type: type, raw_data: raw };
}

const float32Tensor = (name: string, dims: number[], data: ArrayLike<number>): Tensor => tensor(name, dims, DT.FLOAT, data);
const int64Tensor = (name: string, dims: number[], data: readonly number[]): Tensor => tensor(name, dims, DT.INT64, data);
const float16Tensor = (name: string, dims: number[], bits: ArrayLike<number>): Tensor => tensor(name, dims, DT.FLOAT16, bits);

export interface OnnxOptions {
  /**
   * How convolution weights are stored. 'auto' (default): float16 + Cast when the ncnn file stored
   * them as float16 (lossless), float32 otherwise. 'float16': always float16 + Cast (rounds float32
   * sources). 'float32': always plain float32 initializers.
   */
  readonly weightType?: 'auto' | 'float16' | 'float32';
  /** graph name; default "ncnn" */
  readonly graphName?: string;
  /** ModelProto.doc_string */
  readonly docString?: string;
  /**
   * For a network of valid (unpadded) convolutions: pad the input by `pixels` on every side, reflected (the border
   * pixel not repeated) or replicated, plus whatever brings each side to a multiple of `align` at the bottom and
   * right, and crop the output to exactly scale × the input. The reflection is periodic, so inputs smaller than the
   * padding work too.
   */
  readonly pad?: { readonly pixels: number; readonly mode: 'reflect' | 'replicate'; readonly align: number };
  /** Add the input, nearest-upsampled to the output's size, to the network's output (Real-CUGAN ×4). */
  readonly addInput?: boolean;
  /**
   * Open each global average pooling k (in graph order) to its caller, as ncnn lets its callers read and set any blob.
   * Inputs (required: onnxruntime-node cannot override initializers): `pool<k>.use` (bool scalar), when true the
   * pooling yields `pool<k>.mean` ([1,C,1,1]) instead of its own average; `pool<k>.region` (int64 [4]: first row,
   * end row, first column, end column of the pooled feature map, clamped to it). Outputs: `pool<k>.sum` ([1,C,1,1]),
   * the feature map summed over that region, and `pool<k>.count` (float scalar), the pixels in it. With every `use`
   * false the output is the plain network's.
   */
  readonly pools?: boolean;
  /**
   * Name and channel count of each ncnn input, in the param file's order; default one input named "input" with the
   * channels the graph tells. RIFE's flow network has three: two frames and the timestep map.
   */
  readonly inputs?: ReadonlyArray<{ readonly name: string; readonly channels: number }>;
}

/**
 * Convert an ncnn graph to ONNX ModelProto bytes. PReLU becomes x + Relu((s − 1)·x) (see prelu.ts) and constant
 * factors become BatchNormalization, so that onnxruntime's blocked layout runs through them instead of reordering.
 */
export function ncnnToOnnx(source: NcnnGraph, options: OnnxOptions = {}): Uint8Array {
  const named = options.inputs ?? [];
  if (named.length !== 0 && named.length !== source.inputs.length) throw new Error(`${source.paramFile}: ${source.inputs.length} inputs, ${named.length} named`);
  if (source.inputs.length > 1 && named.length === 0) throw new Error(`${source.paramFile}: ${source.inputs.length} inputs: name each (options.inputs)`);
  if (source.inputs.length > 1 && options.pad) throw new Error('pad wraps a network of one input');
  const analysis = analyzeGraph(source, new Map(named.map((n, k) => [source.inputs[k]!, n.channels])));
  const { graph: g, coeff } = residualPRelu(source);
  const weightType = options.weightType ?? 'auto';
  if (options.addInput && !options.pad) throw new Error('addInput needs pad: the added input is the unpadded one');

  const inputNames = named.length ? named.map((n) => n.name) : ['input'];
  const taken = new Set<string>([...inputNames, 'output']);
  const unique = (base: string): string => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };

  /** ncnn blob name → ONNX value name */
  const value = new Map<string, string>();
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
  const graphInputs: ValueInfo[] = g.inputs.map((blob, k) => ({
    name: inputNames[k]!,
    type: tensorType(DT_FLOAT, [1, analysis.blobs.get(blob)!.channels, 'height', 'width']),
  }));
  const graphOutputs: ValueInfo[] = [{ name: 'output', type: tensorType(DT_FLOAT, [1, analysis.outputChannels, 'out_height', 'out_width']) }];
  const nodeNames = new Set<string>();
  const nodeName = (base: string): string => {
    let name = base;
    for (let k = 1; nodeNames.has(name); k++) name = `${base}_${k}`;
    nodeNames.add(name);
    return name;
  };
  const addNode = (op: string, name: string, input: string[], output: string[], attribute: Attribute[] = []): void => {
    nodes.push({ input, output, name: nodeName(name), op_type: op, attribute });
  };
  /** One node with one fresh output value, returned. */
  const op = (type: string, name: string, input: string[], attribute: Attribute[] = []): string => {
    const out = unique(name);
    addNode(type, name, input, [out], attribute);
    return out;
  };
  const int64s = (name: string, data: readonly number[], dims = [data.length]): string => {
    const n = unique(name);
    inits.push(int64Tensor(n, dims, data));
    return n;
  };
  const src = (blob: string): string => {
    const v = value.get(blob);
    if (v === undefined) throw new Error(`${g.paramFile}: blob ${blob} used before it is defined`);
    return v;
  };
  // Wrapped, the network's output goes through the crop (and the added input) before becoming "output".
  const networkOutput = options.pad ? 'network_output' : 'output';
  taken.add(networkOutput);
  /** ONNX value name for a blob a layer produces */
  const dst = (blob: string): string => {
    const v = blob === g.output ? networkOutput : unique(blob);
    value.set(blob, v);
    return v;
  };

  const channelsOf = (blob: string): number => analysis.blobs.get(blob)!.channels;
  const filled = new Map<string, string>();
  /** A shared initializer of `length` copies of `v`. */
  const fill = (length: number, v: number): string => {
    const key = `${length}:${v}`;
    let name = filled.get(key);
    if (name === undefined) {
      name = unique(`fill${length}_${v}`);
      inits.push(float32Tensor(name, [length], new Float32Array(length).fill(v)));
      filled.set(key, name);
    }
    return name;
  };
  /** x·scale per channel, as a BatchNormalization with zero mean, unit variance and epsilon 0 (exact). */
  const scaleChannels = (name: string, x: string, scale: string, n: number, y: string): void => {
    addNode('BatchNormalization', name, [x, scale, fill(n, 0), fill(n, 0), fill(n, 1)], [y], [attrFloat('epsilon', 0)]);
  };

  /** A weight initializer (float16 behind a Cast, or float32), laid out as `dims`, read through `order`. */
  const weightInit = (layer: string, blob: WeightBlob, dims: number[], order?: (k: number) => number): string => {
    const asHalf = weightType === 'float16' || (weightType === 'auto' && blob.float16 !== undefined);
    const pick = <T extends ArrayLike<number>>(data: T): ArrayLike<number> => (order ? Array.from({ length: data.length }, (_, k) => data[order(k)]!) : data);
    if (!asHalf) {
      const name = unique(`${layer}.weight`);
      inits.push(float32Tensor(name, dims, pick(blob.float32)));
      return name;
    }
    const bits = blob.float16 ?? Uint16Array.from(blob.float32, floatToHalf);
    const half = unique(`${layer}.weight_fp16`);
    inits.push(float16Tensor(half, dims, pick(bits)));
    const name = unique(`${layer}.weight`);
    addNode('Cast', `${layer}.weight_cast`, [half], [name], [attrInt('to', DT_FLOAT)]);
    return name;
  };
  const biasInit = (layer: string, bias: Float32Array | undefined, dims = [bias?.length ?? 0]): string[] => {
    if (!bias) return [];
    const b = unique(`${layer}.bias`);
    inits.push(float32Tensor(b, dims, bias));
    return [b];
  };
  /** The node computing `pre`'s activation into `out`; none: `pre` is renamed to `out` by the caller's node. */
  const activate = (layer: string, activation: Activation, pre: string, out: string): void => {
    if (activation.kind === 'relu') addNode('Relu', `${layer}.relu`, [pre], [out]);
    else if (activation.kind === 'leakyrelu') addNode('LeakyRelu', `${layer}.leakyrelu`, [pre], [out], [attrFloat('alpha', activation.slope)]);
    else if (activation.kind === 'sigmoid') addNode('Sigmoid', `${layer}.sigmoid`, [pre], [out]);
  };
  /** A node followed by its fused activation, writing the layer's output blob. */
  const withActivation = (type: string, layer: string, activation: Activation, input: string[], out: string, attrs: Attribute[]): void => {
    if (activation.kind === 'none') return addNode(type, layer, input, [dst(out)], attrs);
    const pre = unique(`${layer}.${type === 'ConvTranspose' ? 'deconv' : 'conv'}`);
    addNode(type, layer, input, [pre], attrs);
    activate(layer, activation, pre, dst(out));
  };

  const shape = options.pad ? op('Shape', 'input.shape', ['input']) : undefined;
  value.set(g.input, options.pad ? padInput(options.pad) : inputNames[0]!);
  g.inputs.forEach((blob, k) => k > 0 && value.set(blob, inputNames[k]!));

  /**
   * The padded input: each spatial axis gathered through an index from -pixels to length + pixels + the alignment,
   * folded back into the image (periodic reflection without repeating the border pixel, or clamping).
   */
  function padInput(pad: NonNullable<OnnxOptions['pad']>): string {
    const one = int64s('pad.one', [1], []);
    const align = int64s('pad.align', [pad.align], []);
    const pixels = int64s('pad.pixels', [pad.pixels], []);
    const first = int64s('pad.first', [-pad.pixels], []);
    let x = 'input';
    for (const axis of [2, 3] as const) {
      const at = `pad.axis${axis}`;
      const length = op('Gather', `${at}.length`, [shape!, int64s(`${at}.index`, [axis], [])], [attrInt('axis', 0)]);
      const extra = op('Mod', `${at}.extra`, [op('Sub', `${at}.short`, [align, op('Mod', `${at}.rest`, [length, align])]), align]);
      const end = op('Add', `${at}.end`, [length, op('Add', `${at}.after`, [extra, pixels])]);
      const positions = op('Range', `${at}.positions`, [first, end, one]);
      const last = op('Sub', `${at}.last`, [length, one]);
      let index: string;
      if (pad.mode === 'replicate') {
        index = op('Max', `${at}.clamped`, [op('Min', `${at}.below`, [positions, last]), int64s(`${at}.zero`, [0], [])]);
      } else {
        // Period 2·(length − 1), at least 1 so that a one-pixel axis repeats its pixel.
        const period = op('Max', `${at}.period`, [op('Add', `${at}.double`, [last, last]), one]);
        const folded = op('Mod', `${at}.folded`, [positions, period]);
        const inside = op('Less', `${at}.inside`, [folded, length]);
        index = op('Where', `${at}.reflected`, [inside, folded, op('Sub', `${at}.mirrored`, [period, folded])]);
      }
      x = op('Gather', `${at}.padded`, [x, index], [attrInt('axis', axis)]);
    }
    return x;
  }

  /**
   * GridSample's grid for a flow in pixels: each pixel's own position plus its flow, in the [−1, 1] coordinates of
   * align_corners (−1 the first pixel's centre, 1 the last's): (x + flow_x)·2/(W − 1) − 1, and the same for y.
   */
  function warpGrid(name: string, flow: string): string {
    const shape = op('Shape', `${name}.shape`, [flow]);
    const axes = ([[3, 'x'], [2, 'y']] as const).map(([axis, label]) => {
      const at = `${name}.${label}`;
      const length = op('Gather', `${at}.length`, [shape, int64s(`${at}.axis`, [axis], [])], [attrInt('axis', 0)]);
      const positions = op('Cast', `${at}.positions`, [op('Range', `${at}.range`, [int64s(`${at}.zero`, [0], []), length, int64s(`${at}.one`, [1], [])])], [attrInt('to', DT_FLOAT)]);
      // y positions run down the rows: [H, 1] against the flow's [1, 1, H, W].
      const placed = label === 'y' ? op('Unsqueeze', `${at}.column`, [positions, int64s(`${at}.column_axis`, [1])]) : positions;
      const component = op('Slice', `${at}.flow`, [flow, int64s(`${at}.from`, [label === 'x' ? 0 : 1]), int64s(`${at}.to`, [label === 'x' ? 1 : 2]), int64s(`${at}.channel`, [1])]);
      const span = op('Sub', `${at}.span`, [op('Cast', `${at}.length_float`, [length], [attrInt('to', DT_FLOAT)]), fillScalar(1)]);
      const unit = op('Div', `${at}.unit`, [fillScalar(2), span]);
      return op('Sub', `${at}.grid`, [op('Mul', `${at}.scaled`, [op('Add', `${at}.moved`, [placed, component]), unit]), fillScalar(1)]);
    });
    return op('Transpose', `${name}.grid`, [op('Concat', `${name}.xy`, axes, [attrInt('axis', 1)])], [attrInts('perm', [0, 2, 3, 1])]);
  }
  /** A shared float scalar initializer. */
  const scalars = new Map<number, string>();
  function fillScalar(v: number): string {
    let name = scalars.get(v);
    if (name === undefined) {
      name = unique(`scalar_${v}`);
      inits.push(float32Tensor(name, [], [v]));
      scalars.set(v, name);
    }
    return name;
  }

  let poolIndex = 0;
  for (const l of g.layers) {
    switch (l.type) {
      case 'Input':
        break;
      case 'Split': {
        const x = src(l.inputs[0]!);
        for (const o of l.outputs) value.set(o, x);
        break;
      }
      case 'Convolution': {
        const x = src(l.inputs[0]!);
        const w = weightInit(l.name, l.weight, [l.numOutput, l.numInput, l.kernel[0], l.kernel[1]]);
        withActivation('Conv', l.name, l.activation, [x, w, ...biasInit(l.name, l.bias)], l.outputs[0]!, [
          attrInts('dilations', [...l.dilation]),
          attrInt('group', l.group),
          attrInts('kernel_shape', [...l.kernel]),
          attrInts('pads', [...l.pads]),
          attrInts('strides', [...l.stride]),
        ]);
        break;
      }
      case 'Deconvolution': {
        const x = src(l.inputs[0]!);
        const [o, i] = [l.numOutput, l.numInput];
        const k = l.kernel[0] * l.kernel[1];
        // ncnn stores output channels first, ONNX ConvTranspose input channels first: element (i, o, k) of the
        // ONNX weight is element (o, i, k) of ncnn's.
        const order = (n: number) => {
          const kk = n % k;
          const io = (n - kk) / k;
          return ((io % o) * i + Math.floor(io / o)) * k + kk;
        };
        const w = weightInit(l.name, l.weight, [i, o, l.kernel[0], l.kernel[1]], order);
        withActivation('ConvTranspose', l.name, l.activation, [x, w, ...biasInit(l.name, l.bias)], l.outputs[0]!, [
          attrInts('dilations', [...l.dilation]),
          attrInts('kernel_shape', [...l.kernel]),
          attrInts('pads', [...l.pads]),
          attrInts('strides', [...l.stride]),
        ]);
        break;
      }
      case 'Pooling': {
        const x = src(l.inputs[0]!);
        if (!options.pools) {
          addNode('GlobalAveragePool', l.name, [x], [dst(l.outputs[0]!)]);
          break;
        }
        const k = poolIndex++;
        const channels = analysis.pools[k]!.channels;
        const use = `pool${k}.use`;
        const mean = `pool${k}.mean`;
        const region = `pool${k}.region`;
        for (const name of [use, mean, region, `pool${k}.sum`, `pool${k}.count`]) taken.add(name);
        graphInputs.push(
          { name: use, type: tensorType(DT_BOOL, []) },
          { name: mean, type: tensorType(DT_FLOAT, [1, channels, 1, 1]) },
          { name: region, type: tensorType(DT_INT64, [4]) },
        );
        const own = op('GlobalAveragePool', l.name, [x]);
        addNode('Where', `${l.name}.chosen`, [use, mean, own], [dst(l.outputs[0]!)]);
        const starts = op('Gather', `${l.name}.starts`, [region, int64s(`${l.name}.start_index`, [0, 2])], [attrInt('axis', 0)]);
        const ends = op('Gather', `${l.name}.ends`, [region, int64s(`${l.name}.end_index`, [1, 3])], [attrInt('axis', 0)]);
        const part = op('Slice', `${l.name}.region`, [x, starts, ends, int64s(`${l.name}.axes`, [2, 3])]);
        addNode('ReduceSum', `${l.name}.sum`, [part, int64s(`${l.name}.sum_axes`, [2, 3])], [`pool${k}.sum`], [attrInt('keepdims', 1)]);
        const size = op('Slice', `${l.name}.size`, [op('Shape', `${l.name}.shape`, [part]), int64s(`${l.name}.hw_from`, [2]), int64s(`${l.name}.hw_to`, [4])]);
        const count = op('ReduceProd', `${l.name}.pixels`, [size], [attrInt('keepdims', 0)]);
        addNode('Cast', `${l.name}.count`, [count], [`pool${k}.count`], [attrInt('to', DT_FLOAT)]);
        graphOutputs.push({ name: `pool${k}.sum`, type: tensorType(DT_FLOAT, [1, channels, 1, 1]) }, { name: `pool${k}.count`, type: tensorType(DT_FLOAT, []) });
        break;
      }
      case 'InnerProduct': {
        // The input is a [1, C, 1, 1] per-channel vector: a 1×1 convolution is the fully connected layer.
        const w = weightInit(l.name, l.weight, [l.numOutput, l.numInput, 1, 1]);
        withActivation('Conv', l.name, l.activation, [src(l.inputs[0]!), w, ...biasInit(l.name, l.bias)], l.outputs[0]!, [attrInts('kernel_shape', [1, 1])]);
        break;
      }
      case 'Scale': {
        const x = src(l.inputs[0]!);
        let factors: string;
        if (l.scale) {
          factors = unique(`${l.name}.scale`);
          inits.push(float32Tensor(factors, [l.scale.length, 1, 1], l.scale));
        } else {
          factors = src(l.inputs[1]!);
        }
        if (!l.bias) {
          addNode('Mul', l.name, [x, factors], [dst(l.outputs[0]!)]);
        } else {
          addNode('Add', `${l.name}.add`, [op('Mul', l.name, [x, factors]), ...biasInit(l.name, l.bias, [l.bias.length, 1, 1])], [dst(l.outputs[0]!)]);
        }
        break;
      }
      case 'Crop': {
        const x = src(l.inputs[0]!);
        if (l.form === 'slice') {
          // ncnn's ends of 0 and -233 mean "to the end", which ONNX spells as any end past it.
          const ends = l.ends.map((e, i) => (e === 0 || e === -233 ? TO_THE_END : l.axes[i] === 0 ? cropRange(l.starts[i]!, e, analysis.blobs.get(l.inputs[0]!)!.channels)[1] : e));
          const starts = l.starts.map((s) => (s === -233 ? 0 : s));
          addNode('Slice', l.name, [x, int64s(`${l.name}.starts`, starts), int64s(`${l.name}.ends`, ends), int64s(`${l.name}.axes`, l.axes.map((a) => a + 1))], [dst(l.outputs[0]!)]);
        } else {
          const offsets = int64s(`${l.name}.offsets`, [l.offsetH, l.offsetW]);
          const size = op('Slice', `${l.name}.size`, [op('Shape', `${l.name}.shape`, [src(l.inputs[1]!)]), int64s(`${l.name}.hw_from`, [2]), int64s(`${l.name}.hw_to`, [4])]);
          const ends = op('Add', `${l.name}.ends`, [offsets, size]);
          addNode('Slice', l.name, [x, offsets, ends, int64s(`${l.name}.axes`, [2, 3])], [dst(l.outputs[0]!)]);
        }
        break;
      }
      case 'PReLU': {
        const x = src(l.inputs[0]!);
        const k = coeff.get(l.name);
        if (!k) {
          const s = unique(`${l.name}.slope`);
          inits.push(float32Tensor(s, l.slope.length === 1 ? [1] : [l.slope.length, 1, 1], l.slope));
          addNode('PRelu', l.name, [x, s], [dst(l.outputs[0]!)]);
          break;
        }
        const n = channelsOf(l.inputs[0]!);
        const c = unique(`${l.name}.coeff`);
        inits.push(float32Tensor(c, [n], k.length === 1 ? new Float32Array(n).fill(k[0]!) : k));
        const scaled = unique(`${l.name}.scaled`);
        const relu = unique(`${l.name}.relu`);
        scaleChannels(`${l.name}.scale`, x, c, n, scaled);
        addNode('Relu', `${l.name}.relu`, [scaled], [relu]);
        addNode('Add', l.name, [x, relu], [dst(l.outputs[0]!)]);
        break;
      }
      case 'PixelShuffle':
        addNode('DepthToSpace', l.name, [src(l.inputs[0]!)], [dst(l.outputs[0]!)], [
          attrInt('blocksize', l.factor),
          attrString('mode', l.mode),
        ]);
        break;
      case 'Interp': {
        const x = src(l.inputs[0]!);
        const scales = unique(`${l.name}.scales`);
        inits.push(float32Tensor(scales, [4], [1, 1, l.scaleH, l.scaleW]));
        let attrs: Attribute[];
        if (l.mode === 'nearest') {
          attrs = [
            attrString('coordinate_transformation_mode', 'asymmetric'),
            attrString('mode', 'nearest'),
            attrString('nearest_mode', 'floor'),
          ];
        } else {
          const ctm = l.alignCorners ? 'align_corners' : 'half_pixel';
          attrs = [attrString('coordinate_transformation_mode', ctm)];
          if (l.mode === 'bicubic') attrs.push(attrFloat('cubic_coeff_a', -0.75));
          attrs.push(attrString('mode', l.mode === 'bicubic' ? 'cubic' : 'linear'));
        }
        addNode('Resize', l.name, [x, '', scales], [dst(l.outputs[0]!)], attrs);
        break;
      }
      case 'BinaryOp': {
        const type = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', rsub: 'Sub' }[l.op];
        let operands = l.inputs.map(src);
        if (l.scalar !== undefined) {
          const b = unique(`${l.name}.b`);
          inits.push(float32Tensor(b, [], [l.scalar]));
          operands.push(b);
        }
        if (l.op === 'rsub') operands = operands.reverse();
        addNode(type, l.name, operands, [dst(l.outputs[0]!)]);
        break;
      }
      case 'ReLU':
        if (l.slope === 0) addNode('Relu', l.name, [src(l.inputs[0]!)], [dst(l.outputs[0]!)]);
        else addNode('LeakyRelu', l.name, [src(l.inputs[0]!)], [dst(l.outputs[0]!)], [attrFloat('alpha', l.slope)]);
        break;
      case 'Sigmoid':
        addNode('Sigmoid', l.name, [src(l.inputs[0]!)], [dst(l.outputs[0]!)]);
        break;
      case 'Warp':
        addNode('GridSample', l.name, [src(l.inputs[0]!), warpGrid(l.name, src(l.inputs[1]!))], [dst(l.outputs[0]!)], [
          attrInt('align_corners', 1),
          attrString('mode', 'bilinear'),
          attrString('padding_mode', 'border'),
        ]);
        break;
      case 'Eltwise': {
        const terms = l.inputs.map((b, k) => {
          const x = src(b);
          const c = l.coeffs[k]!;
          if (c === 1) return x;
          const y = unique(`${l.name}.term${k}`);
          const n = channelsOf(b);
          scaleChannels(`${l.name}.scale${k}`, x, fill(n, c), n, y);
          return y;
        });
        let acc = terms[0]!;
        for (let k = 1; k < terms.length; k++) {
          const last = k === terms.length - 1;
          const y = last ? dst(l.outputs[0]!) : unique(`${l.name}.sum${k}`);
          addNode('Add', last ? l.name : `${l.name}.add${k}`, [acc, terms[k]!], [y]);
          acc = y;
        }
        break;
      }
      case 'Concat':
        addNode('Concat', l.name, l.inputs.map(src), [dst(l.outputs[0]!)], [attrInt('axis', l.axis >= 0 ? l.axis + 1 : l.axis)]);
        break;
    }
  }
  // The output blob may be an alias (Split) or the input itself: route it to the network's output.
  if (src(g.output) !== networkOutput) addNode('Identity', 'output_identity', [src(g.output)], [networkOutput]);

  if (options.pad) {
    // The alignment padding and the right and bottom margins come out of the network as extra pixels: keep scale × input.
    const size = op('Slice', 'output.size', [shape!, int64s('output.hw_from', [2]), int64s('output.hw_to', [4])]);
    const ends = op('Mul', 'output.ends', [size, int64s('output.scale', [analysis.scale])]);
    const cropped = op('Slice', 'output.crop', [networkOutput, int64s('output.starts', [0, 0]), ends, int64s('output.axes', [2, 3])]);
    if (options.addInput) {
      const scales = unique('output.input_scales');
      inits.push(float32Tensor(scales, [4], [1, 1, analysis.scale, analysis.scale]));
      const upsampled = op('Resize', 'output.input_upsampled', ['input', '', scales], [
        attrString('coordinate_transformation_mode', 'asymmetric'),
        attrString('mode', 'nearest'),
        attrString('nearest_mode', 'floor'),
      ]);
      addNode('Add', 'output.add_input', [cropped, upsampled], ['output']);
    } else {
      addNode('Identity', 'output.cropped', [cropped], ['output']);
    }
  }

  return encodeModel({
    graphName: options.graphName ?? 'ncnn',
    ...(options.docString ? { docString: options.docString } : {}),
    nodes,
    initializers: inits,
    inputs: graphInputs,
    outputs: graphOutputs,
  });
}

export interface ModelParts {
  graphName: string;
  docString?: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Operator sets beyond the default domain's ONNX_OPSET, e.g. com.microsoft for QLinearAdd. */
  extraOpsets?: { domain: string; version: number }[];
}

/** ModelProto bytes; deterministic for the same parts. */
export function encodeModel(parts: ModelParts): Uint8Array {
  const model = {
    ir_version: ONNX_IR_VERSION,
    producer_name: 'upscale-ncnn2onnx',
    producer_version: '1',
    ...(parts.docString ? { doc_string: parts.docString } : {}),
    opset_import: [{ domain: '', version: ONNX_OPSET }, ...(parts.extraOpsets ?? [])],
    graph: { name: parts.graphName, node: parts.nodes, initializer: parts.initializers, input: parts.inputs, output: parts.outputs },
  };
  const T = onnxModelType();
  const err = T.verify(model);
  if (err) throw new Error(`internal error building ONNX model: ${err}`);
  return T.encode(T.fromObject(model)).finish();
}

export interface ValueInfo {
  name: string;
  type: ReturnType<typeof tensorType>;
}

/** A graph input or output of these dimensions: numbers fixed, strings symbolic. */
export const valueInfo = (name: string, elemType: number, dims: ReadonlyArray<number | string>): ValueInfo => ({ name, type: tensorType(elemType, dims) });

/** A graph input or output: [1, channels, h, w] with symbolic spatial dimensions. */
export const imageValue = (name: string, elemType: number, channels: number, h: string, w: string): ValueInfo => valueInfo(name, elemType, [1, channels, h, w]);

function tensorType(elemType: number, dims: ReadonlyArray<number | string>) {
  return {
    tensor_type: {
      elem_type: elemType,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
    },
  };
}

/** Decode ONNX bytes produced by {@link ncnnToOnnx} (for inspection and tests). */
export function decodeOnnx(bytes: Uint8Array): Record<string, unknown> {
  const T = onnxModelType();
  return T.toObject(T.decode(bytes), { longs: Number, bytes: Array, defaults: false }) as Record<string, unknown>;
}
