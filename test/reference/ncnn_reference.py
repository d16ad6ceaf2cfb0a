#!/usr/bin/env python3
"""
Independent reference for the U-Net models: runs an upstream ncnn graph (.param + .bin) layer by layer in PyTorch
(float32), with the pre- and post-processing of the upstream tools' CPU paths, and writes the result as an 8-bit PNG.

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

Usage (Debian: apt-get install python3-torch python3-numpy python3-pil):
  python3 test/reference/ncnn_reference.py realcugan|waifu2x SCALE MODEL.param MODEL.bin INPUT.png OUTPUT.png
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


def run_graph(layers, weights, x):
    """x: CHW float32. Blobs are CHW tensors, or 1-D (C,) vectors after a global pooling."""
    blobs = {}
    for kind, name, ins, outs, p in layers:
        if kind == 'Input':
            blobs[outs[0]] = x
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
            a, b = blobs[ins[0]], blobs[ins[1]]
            if a.dim() == 3 and b.dim() == 1:
                b = b[:, None, None]
            op = p.get(0, 0)
            blobs[outs[0]] = [a + b, a - b, a * b, a / b][op]
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


if __name__ == '__main__':
    tool, scale, param, binary, src, dst = sys.argv[1:7]
    rgb = np.asarray(Image.open(src).convert('RGB'))
    Image.fromarray(upscale(tool, int(scale), param, binary, rgb)).save(dst)
