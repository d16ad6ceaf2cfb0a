/**
 * ncnn graph → ONNX ModelProto bytes (opset 17, IR version 8), encoded with protobufjs.
 *
 * Only the subset of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto, proto2)
 * needed here is declared; field numbers are the upstream ones.
 *
 * Output is deterministic: node, initializer and value names derive only from the ncnn graph,
 * in graph order, and nothing time- or environment-dependent is written.
 */
import protobuf from 'protobufjs';
import {
  analyzeGraph,
  floatToHalf,
  type ConvolutionLayer,
  type NcnnGraph,
} from './ncnn.js';

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

const DT_FLOAT = 1;
const DT_FLOAT16 = 10;
const AT = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

let modelType: protobuf.Type | undefined;
function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_SUBSET, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

interface Attribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  ints?: number[];
}
interface Node {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  attribute: Attribute[];
}
interface Tensor {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

const attrInt = (name: string, i: number): Attribute => ({ name, type: AT.INT, i });
const attrFloat = (name: string, f: number): Attribute => ({ name, type: AT.FLOAT, f });
const attrInts = (name: string, ints: number[]): Attribute => ({ name, type: AT.INTS, ints });
const attrString = (name: string, s: string): Attribute => ({ name, type: AT.STRING, s: new TextEncoder().encode(s) });

function float32Tensor(name: string, dims: number[], data: ArrayLike<number>): Tensor {
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  for (let k = 0; k < data.length; k++) view.setFloat32(4 * k, data[k]!, true);
  return { name, dims, data_type: DT_FLOAT, raw_data: raw };
}

function float16Tensor(name: string, dims: number[], bits: ArrayLike<number>): Tensor {
  const raw = new Uint8Array(bits.length * 2);
  const view = new DataView(raw.buffer);
  for (let k = 0; k < bits.length; k++) view.setUint16(2 * k, bits[k]!, true);
  return { name, dims, data_type: DT_FLOAT16, raw_data: raw };
}

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
}

/** Convert an ncnn graph to ONNX ModelProto bytes. */
export function ncnnToOnnx(g: NcnnGraph, options: OnnxOptions = {}): Uint8Array {
  const analysis = analyzeGraph(g);
  const weightType = options.weightType ?? 'auto';

  const taken = new Set<string>(['input', 'output']);
  const unique = (base: string): string => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };

  /** ncnn blob name → ONNX value name */
  const value = new Map<string, string>();
  value.set(g.input, 'input');
  const nodes: Node[] = [];
  const inits: Tensor[] = [];
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
  const src = (blob: string): string => {
    const v = value.get(blob);
    if (v === undefined) throw new Error(`${g.paramFile}: blob ${blob} used before it is defined`);
    return v;
  };
  /** ONNX value name for a blob a layer produces */
  const dst = (blob: string): string => {
    const v = blob === g.output ? 'output' : unique(blob);
    value.set(blob, v);
    return v;
  };

  const convWeight = (l: ConvolutionLayer): string => {
    const dims = [l.numOutput, l.numInput, l.kernel[0], l.kernel[1]];
    const asHalf = weightType === 'float16' || (weightType === 'auto' && l.weight.float16 !== undefined);
    if (!asHalf) {
      const name = unique(`${l.name}.weight`);
      inits.push(float32Tensor(name, dims, l.weight.float32));
      return name;
    }
    const bits = l.weight.float16 ?? Uint16Array.from(l.weight.float32, floatToHalf);
    const half = unique(`${l.name}.weight_fp16`);
    inits.push(float16Tensor(half, dims, bits));
    const name = unique(`${l.name}.weight`);
    addNode('Cast', `${l.name}.weight_cast`, [half], [name], [attrInt('to', DT_FLOAT)]);
    return name;
  };

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
        const w = convWeight(l);
        const ins = [x, w];
        if (l.bias) {
          const b = unique(`${l.name}.bias`);
          inits.push(float32Tensor(b, [l.numOutput], l.bias));
          ins.push(b);
        }
        const attrs = [
          attrInts('dilations', [...l.dilation]),
          attrInt('group', l.group),
          attrInts('kernel_shape', [...l.kernel]),
          attrInts('pads', [...l.pads]),
          attrInts('strides', [...l.stride]),
        ];
        if (l.activation.kind === 'none') {
          addNode('Conv', l.name, ins, [dst(l.outputs[0]!)], attrs);
        } else {
          const pre = unique(`${l.name}.conv`);
          addNode('Conv', l.name, ins, [pre], attrs);
          if (l.activation.kind === 'relu') {
            addNode('Relu', `${l.name}.relu`, [pre], [dst(l.outputs[0]!)]);
          } else {
            addNode('LeakyRelu', `${l.name}.leakyrelu`, [pre], [dst(l.outputs[0]!)], [attrFloat('alpha', l.activation.slope)]);
          }
        }
        break;
      }
      case 'PReLU': {
        const x = src(l.inputs[0]!);
        const s = unique(`${l.name}.slope`);
        inits.push(float32Tensor(s, l.slope.length === 1 ? [1] : [l.slope.length, 1, 1], l.slope));
        addNode('PRelu', l.name, [x, s], [dst(l.outputs[0]!)]);
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
      case 'BinaryOp':
        addNode('Add', l.name, l.inputs.map(src), [dst(l.outputs[0]!)]);
        break;
      case 'Eltwise': {
        const terms = l.inputs.map((b, k) => {
          const x = src(b);
          const c = l.coeffs[k]!;
          if (c === 1) return x;
          const cn = unique(`${l.name}.coeff${k}`);
          inits.push(float32Tensor(cn, [], [c]));
          const y = unique(`${l.name}.term${k}`);
          addNode('Mul', `${l.name}.mul${k}`, [x, cn], [y]);
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
  // The output blob may be an alias (Split) or the input itself: route it to "output".
  if (src(g.output) !== 'output') addNode('Identity', 'output_identity', [src(g.output)], ['output']);

  const tensorType = (channels: number, h: string, w: string) => ({
    tensor_type: {
      elem_type: DT_FLOAT,
      shape: { dim: [{ dim_value: 1 }, { dim_value: channels }, { dim_param: h }, { dim_param: w }] },
    },
  });
  const model = {
    ir_version: ONNX_IR_VERSION,
    producer_name: 'upscale-ncnn2onnx',
    producer_version: '1',
    ...(options.docString ? { doc_string: options.docString } : {}),
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    graph: {
      name: options.graphName ?? 'ncnn',
      node: nodes,
      initializer: inits,
      input: [{ name: 'input', type: tensorType(analysis.inputChannels, 'height', 'width') }],
      output: [{ name: 'output', type: tensorType(analysis.outputChannels, 'out_height', 'out_width') }],
    },
  };
  const T = onnxModelType();
  const err = T.verify(model);
  if (err) throw new Error(`internal error building ONNX model: ${err}`);
  return T.encode(T.fromObject(model)).finish();
}

/** Decode ONNX bytes produced by {@link ncnnToOnnx} (for inspection and tests). */
export function decodeOnnx(bytes: Uint8Array): Record<string, unknown> {
  const T = onnxModelType();
  return T.toObject(T.decode(bytes), { longs: Number, bytes: Array, defaults: false }) as Record<string, unknown>;
}
