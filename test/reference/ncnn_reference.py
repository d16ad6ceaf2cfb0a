#!/usr/bin/python3
"""
Independent reference for the U-Net models and RIFE: runs an upstream ncnn graph (.param + .bin) layer by layer in
PyTorch (float32), with the pre- and post-processing of the upstream tools' CPU paths, and writes the result as an
8-bit PNG.

Nothing here comes from the project's TypeScript converter: the ncnn files are parsed again and every op follows
ncnn's own definition (the naive CPU layers in Tencent/ncnn src/layer/*.cpp), so the fixtures it writes check the
ONNX conversion, the in-graph padding and the tool's own steps from the outside.

  realcugan  (nihui/realcugan-ncnn-vulkan, RealCUGAN::process_cpu, one tile = the whole image): RGB / 255; reflect
             padding (ncnn copy_make_border type 2: the border pixel not repeated) of 18/14/19 px at x2/x3/x4 on
             every side, plus at the bottom and right what makes the size even (x2, x4) or a multiple of 4 (x3); the
             network; the top-left scale x input; at x4 the input added, nearest-upsampled; x 255 + 0.5, truncated to
             0..255 (ncnn's to_pixels).
  waifu2x    (nihui/waifu2x-ncnn-vulkan, Waifu2x::process_cpu, one tile): the same with replicated borders
             (BORDER_REPLICATE), 28 px at x1 (size rounded up to a multiple of 4) and 18 px at x2 (even).
  rife       (RIFE v4.x flownet, as nihui/rife-ncnn-vulkan's RIFE::process_v4_cpu feeds it): both frames RGB / 255,
             zero-padded at the bottom and right to a multiple of 32; in0 = frame 0, in1 = frame 1, in2 = a 1-channel
             map filled with the timestep T; out0 cropped to the frame size, x 255 + 0.5, floored, clamped to 0..255.
             The custom rife.Warp layer is the backward warp of Practical-RIFE's model/warplayer.py: bilinear
             grid_sample, border padding, align_corners=True, flow in pixels.

Usage (Debian: apt-get install python3-torch python3-numpy python3-pil; run with Debian's /usr/bin/python3):
  /usr/bin/python3 test/reference/ncnn_reference.py realcugan|waifu2x SCALE MODEL.param MODEL.bin INPUT.png OUTPUT.png
  /usr/bin/python3 test/reference/ncnn_reference.py rife T MODEL.param MODEL.bin FRAME0.png FRAME1.png OUTPUT.png
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

torch.set_grad_enabled(False)


def parse_param(path):
    lines = [l.split() for l in open(path).read().splitlines() if l.strip()]
    assert lines[0] == ['7767517'], 'not an ncnn param file'
    layers = []
    for t in lines[2:]:
        kind, name, n_in, n_out = t[0], t[1], int(t[2]), int(t[3])
        ins, outs = t[4:4 + n_in], t[4 + n_in:4 + n_in + n_out]
        params = {}
        for kv in t[4 + n_in + n_out:]:
            k, v = kv.split('=')
            k = int(k)
            if k <= -23300:
                vals = [float(x) for x in v.split(',')]
                params[-23300 - k] = vals[1:]
            else:
                params[k] = float(v) if ('.' in v or 'e' in v) else int(v)
        layers.append((kind, name, ins, outs, params))
    return layers


class Bin:
    def __init__(self, path):
        self.data = open(path, 'rb').read()
        self.at = 0

    def raw(self, n):
        a = np.frombuffer(self.data, '<f4', n, self.at).astype(np.float32)
        self.at += 4 * n
        return torch.from_numpy(a.copy())

    def tagged(self, n):
        tag = int.from_bytes(self.data[self.at:self.at + 4], 'little')
        self.at += 4
        if tag == 0x01306B47:
            a = np.frombuffer(self.data, '<f2', n, self.at).astype(np.float32)
            self.at += (2 * n + 3) // 4 * 4
            return torch.from_numpy(a.copy())
        assert tag == 0, f'unsupported weight tag {tag:#x}'
        return self.raw(n)


def activation(x, p):
    kind = p.get(9, 0)
    if kind == 0:
        return x
    if kind == 1:
        return torch.relu(x)
    if kind == 2:
        slope = p.get(10, [0.0])[0]
        return torch.where(x > 0, x, x * slope)
    if kind == 4:
        return torch.sigmoid(x)
    raise ValueError(f'activation {kind}')


def binary_op(a, b, op):
    """ncnn BinaryOp operation types 0..8 (add, sub, mul, div, max, min, pow, rsub, rdiv)."""
    if op == 0:
        return a + b
    if op == 1:
        return a - b
    if op == 2:
        return a * b
    if op == 3:
        return a / b
    if op == 4:
        return torch.maximum(torch.as_tensor(a), torch.as_tensor(b))
    if op == 5:
        return torch.minimum(torch.as_tensor(a), torch.as_tensor(b))
    if op == 6:
        return torch.pow(a, b)
    if op == 7:
        return b - a
    if op == 8:
        return b / a
    raise ValueError(f'BinaryOp type {op}')


def warp(image, flow):
    """rife.Warp as Practical-RIFE's model/warplayer.py (MIT) defines it; image CHW, flow 2HW in pixels (x, y)."""
    _, h, w = flow.shape
    assert image.shape[1:] == flow.shape[1:], 'rife.Warp: image and flow sizes differ'
    horizontal = torch.linspace(-1.0, 1.0, w).view(1, 1, w).expand(1, h, w)
    vertical = torch.linspace(-1.0, 1.0, h).view(1, h, 1).expand(1, h, w)
    grid = torch.cat([horizontal, vertical], 0)
    flow = torch.cat([flow[0:1] / ((image.shape[2] - 1.0) / 2.0), flow[1:2] / ((image.shape[1] - 1.0) / 2.0)], 0)
    g = (grid + flow).permute(1, 2, 0)[None]
    return F.grid_sample(image[None], g, mode='bilinear', padding_mode='border', align_corners=True)[0]


def run_graph(layers, weights, inputs, output=None):
    """inputs: one CHW float32 tensor (fed to every Input layer), or {blob name: CHW tensor}. Returns the blob named
    output, or by default the first blob that no layer consumes. Blobs are CHW tensors, or 1-D (C,) vectors after a
    global pooling."""
    blobs = {}
    for kind, name, ins, outs, p in layers:
        if kind == 'Input':
            blobs[outs[0]] = inputs[outs[0]] if isinstance(inputs, dict) else inputs
        elif kind == 'Split':
            for o in outs:
                blobs[o] = blobs[ins[0]]
        elif kind == 'Convolution':
            a = blobs[ins[0]]
            cout, k = p[0], p[1]
            dil, stride, pad = p.get(2, 1), p.get(3, 1), p.get(4, 0)
            w = weights.tagged(p[6]).reshape(cout, -1, k, k)  # ncnn: output, input, kh, kw
            b = weights.raw(cout) if p.get(5, 0) else None
            y = F.conv2d(a[None], w, b, stride=stride, padding=pad, dilation=dil)[0]
            blobs[outs[0]] = activation(y, p)
        elif kind == 'Deconvolution':
            a = blobs[ins[0]]
            cout, k = p[0], p[1]
            dil, stride, pad = p.get(2, 1), p.get(3, 1), p.get(4, 0)
            w = weights.tagged(p[6]).reshape(cout, -1, k, k)  # ncnn: output, input, kh, kw
            b = weights.raw(cout) if p.get(5, 0) else torch.zeros(cout)
            cin, h, wd = a.shape
            # ncnn's loop: input pixel (i, j) adds w[p, q, ky, kx] * x[q, i, j] at output (i*stride + ky*dil, ...).
            full = torch.zeros(cout, (h - 1) * stride + dil * (k - 1) + 1, (wd - 1) * stride + dil * (k - 1) + 1)
            for ky in range(k):
                for kx in range(k):
                    contrib = torch.einsum('pq,qhw->phw', w[:, :, ky, kx], a)
                    full[:, ky * dil:ky * dil + (h - 1) * stride + 1:stride, kx * dil:kx * dil + (wd - 1) * stride + 1:stride] += contrib
            full += b[:, None, None]
            full = full[:, pad:full.shape[1] - pad, pad:full.shape[2] - pad]
            blobs[outs[0]] = activation(full, p)
        elif kind == 'Pooling':
            assert p.get(0) == 1 and p.get(4) == 1, 'only global average pooling'
            blobs[outs[0]] = blobs[ins[0]].mean(dim=(1, 2))
        elif kind == 'InnerProduct':
            a = blobs[ins[0]]
            cout = p[0]
            w = weights.tagged(p[2]).reshape(cout, -1)
            b = weights.raw(cout) if p.get(1, 0) else torch.zeros(cout)
            blobs[outs[0]] = activation(w @ a.reshape(-1) + b, p)
        elif kind == 'BinaryOp':
            op = p.get(0, 0)
            if p.get(1, 0):  # with_scalar: the second operand is param 2 (b)
                assert len(ins) == 1
                blobs[outs[0]] = binary_op(blobs[ins[0]], float(p.get(2, 0.0)), op)
            else:
                a, b = blobs[ins[0]], blobs[ins[1]]
                if a.dim() == 3 and b.dim() == 1:
                    b = b[:, None, None]
                if a.dim() == 3 and b.dim() == 3:  # ncnn broadcasts a size-1 axis (here: a 1-channel blob)
                    assert all(x == y or x == 1 or y == 1 for x, y in zip(a.shape, b.shape)), (name, a.shape, b.shape)
                blobs[outs[0]] = binary_op(a, b, op)
        elif kind == 'ReLU':
            a, slope = blobs[ins[0]], float(p.get(0, 0.0))
            blobs[outs[0]] = torch.relu(a) if slope == 0 else torch.where(a > 0, a, a * slope)
        elif kind == 'Sigmoid':
            blobs[outs[0]] = torch.sigmoid(blobs[ins[0]])
        elif kind == 'Concat':
            axis = p.get(0, 0)
            a = [blobs[i] for i in ins]
            axis = axis + a[0].dim() if axis < 0 else axis
            blobs[outs[0]] = torch.cat(a, axis)
        elif kind == 'Interp':
            a = blobs[ins[0]]
            assert p.get(0) == 2, f'Interp {name}: only bilinear (resize_type 2)'
            assert not p.get(5, 0), f'Interp {name}: dynamic target size'
            h, w = a.shape[1:]
            oh, ow = p.get(3, 0), p.get(4, 0)
            if oh == 0 or ow == 0:  # ncnn: (int)(h * height_scale), in float
                oh = int(np.float32(h) * np.float32(p.get(1, 1.0)))
                ow = int(np.float32(w) * np.float32(p.get(2, 1.0)))
            align = bool(p.get(6, 0))
            blobs[outs[0]] = F.interpolate(a[None], size=(oh, ow), mode='bilinear', align_corners=align)[0]
        elif kind == 'rife.Warp':
            blobs[outs[0]] = warp(blobs[ins[0]], blobs[ins[1]])
        elif kind == 'Scale':
            assert p.get(0) == -233
            blobs[outs[0]] = blobs[ins[0]] * blobs[ins[1]][:, None, None]
        elif kind == 'Eltwise':
            assert p.get(0) == 1, 'only sum'
            coeffs = p.get(1, [1.0] * len(ins))
            blobs[outs[0]] = sum(c * blobs[i] for c, i in zip(coeffs, ins))
        elif kind == 'Crop':
            a = blobs[ins[0]]
            if 9 in p:
                starts, ends = [int(v) for v in p[9]], [int(v) for v in p[10]]
                axes = [int(v) for v in p.get(11, range(len(starts)))]
                sl = [slice(None)] * 3
                for s, e, ax in zip(starts, ends, axes):
                    ax = ax + 3 if ax < 0 else ax
                    n = a.shape[ax]
                    s = 0 if s == -233 else (s if s >= 0 else n + s)
                    e = n if e == -233 else min(n, e if e > 0 else n + e)
                    sl[ax] = slice(s, e)
                blobs[outs[0]] = a[tuple(sl)]
            else:
                ref = blobs[ins[1]]
                wo, ho = p.get(0, 0), p.get(1, 0)
                blobs[outs[0]] = a[:, ho:ho + ref.shape[1], wo:wo + ref.shape[2]]
        elif kind == 'PixelShuffle':
            blobs[outs[0]] = F.pixel_shuffle(blobs[ins[0]][None], p[0])[0]
        else:
            raise ValueError(f'op {kind} ({name}) is not in the reference')
    assert weights.at == len(weights.data), 'weights left over'
    if output is not None:
        return blobs[output]
    produced = [o for l in layers for o in l[3]]
    consumed = {i for l in layers for i in l[2]}
    return blobs[[o for o in produced if o not in consumed][0]]


PADDING = {('realcugan', 2): 18, ('realcugan', 3): 14, ('realcugan', 4): 19, ('waifu2x', 1): 28, ('waifu2x', 2): 18}
ALIGN = {('realcugan', 2): 2, ('realcugan', 3): 4, ('realcugan', 4): 2, ('waifu2x', 1): 4, ('waifu2x', 2): 2}


def upscale(tool, scale, param, binary, rgb):
    """rgb: HxWx3 uint8 → HxWx3 uint8, as the upstream tool computes it on one tile."""
    h, w, _ = rgb.shape
    x = torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1) * np.float32(1 / 255.0)
    pad, align = PADDING[(tool, scale)], ALIGN[(tool, scale)]
    bottom = pad + (-h) % align
    right = pad + (-w) % align
    mode = 'reflect' if tool == 'realcugan' else 'replicate'
    padded = F.pad(x[None], (pad, right, pad, bottom), mode=mode)[0]
    y = run_graph(parse_param(param), Bin(binary), padded)[:, :h * scale, :w * scale]
    if tool == 'realcugan' and scale == 4:
        y = y + x.repeat_interleave(4, 1).repeat_interleave(4, 2)
    out = torch.clamp(torch.floor(y * 255 + 0.5), 0, 255)
    return out.permute(1, 2, 0).numpy().astype(np.uint8)


def interpolate(param, binary, frame0, frame1, t):
    """frame0, frame1: HxWx3 uint8 → the frame at timestep t (HxWx3 uint8), as rife-ncnn-vulkan's v4 CPU path."""
    assert frame0.shape == frame1.shape and frame0.shape[2] == 3
    h, w, _ = frame0.shape
    hp, wp = (h + 31) // 32 * 32, (w + 31) // 32 * 32

    def prepare(rgb):
        x = torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1) * np.float32(1 / 255.0)
        return F.pad(x, (0, wp - w, 0, hp - h))  # zeros at the right and bottom

    inputs = {'in0': prepare(frame0), 'in1': prepare(frame1), 'in2': torch.full((1, hp, wp), float(t))}
    y = run_graph(parse_param(param), Bin(binary), inputs, 'out0')[:, :h, :w]
    out = torch.clamp(torch.floor(y * 255 + 0.5), 0, 255)
    return out.permute(1, 2, 0).numpy().astype(np.uint8)


def load_rgb(path):
    return np.asarray(Image.open(path).convert('RGB'))


if __name__ == '__main__':
    if sys.argv[1] == 'rife':
        t, param, binary, src0, src1, dst = sys.argv[2:8]
        Image.fromarray(interpolate(param, binary, load_rgb(src0), load_rgb(src1), float(t))).save(dst)
    else:
        tool, scale, param, binary, src, dst = sys.argv[1:7]
        Image.fromarray(upscale(tool, int(scale), param, binary, load_rgb(src))).save(dst)
