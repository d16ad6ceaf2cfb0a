#!/usr/bin/env python3
"""
The PyTorch side of `npm run bench -- --torch`: runs an upstream Real-ESRGAN ncnn graph (.param + .bin) in PyTorch
float32, the whole image in one pass, as a user of the reference implementation would (start, load, read, forward,
write), so the bench can time that whole process beside the tool's.

Usage (Debian: apt-get install python3-torch libopenblas0-pthread python3-pil):
  python3 src/bench/torch-reference.py MODEL.param MODEL.bin INPUT.png OUTPUT.png THREADS
"""
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

torch.set_grad_enabled(False)


def parse_param(path):
    lines = [line.split() for line in open(path).read().splitlines() if line.strip()]
    layers = []
    for t in lines[2:]:
        kind, name, n_in, n_out = t[0], t[1], int(t[2]), int(t[3])
        ins, outs = t[4:4 + n_in], t[4 + n_in:4 + n_in + n_out]
        params = {}
        for kv in t[4 + n_in + n_out:]:
            k, v = kv.split('=')
            k = int(k)
            if k <= -23300:
                params[-23300 - k] = [float(x) for x in v.split(',')][1:]
            else:
                params[k] = float(v)
        layers.append((kind, ins, outs, params))
    return layers


class Weights:
    def __init__(self, path):
        self.data = open(path, 'rb').read()
        self.at = 0

    def raw(self, count):
        values = np.frombuffer(self.data, '<f4', count, self.at)
        self.at += 4 * count
        return torch.from_numpy(values.copy())

    def tagged(self, count):
        (tag,) = struct.unpack_from('<I', self.data, self.at)
        self.at += 4
        if tag == 0x01306B47:
            values = np.frombuffer(self.data, '<f2', count, self.at).astype(np.float32)
            self.at += (count * 2 + 3) // 4 * 4
            return torch.from_numpy(values)
        return self.raw(count)


def load(param_path, bin_path):
    weights = Weights(bin_path)
    program = []
    for kind, ins, outs, p in parse_param(param_path):
        if kind == 'Convolution':
            n, k = int(p[0]), int(p[1])
            w = weights.tagged(int(p[6])).reshape(n, -1, k, k)
            b = weights.raw(n) if p.get(5) else None
            program.append((kind, ins, outs, (w, b, int(p.get(4, 0)), int(p.get(9, 0)), (p.get(10) or [0])[0])))
        elif kind == 'PReLU':
            program.append((kind, ins, outs, weights.raw(int(p[0])).reshape(1, -1, 1, 1)))
        else:
            program.append((kind, ins, outs, p))
    return program


def run(program, x):
    blobs = {}
    for kind, ins, outs, p in program:
        a = [blobs[i] for i in ins]
        if kind == 'Input':
            y = [x]
        elif kind == 'Split':
            y = [a[0]] * len(outs)
        elif kind == 'Convolution':
            w, b, pad, act, slope = p
            v = F.conv2d(a[0], w, b, padding=pad)
            y = [F.relu(v) if act == 1 else F.leaky_relu(v, slope) if act == 2 else v]
        elif kind == 'PReLU':
            y = [torch.where(a[0] >= 0, a[0], a[0] * p)]
        elif kind == 'PixelShuffle':
            y = [F.pixel_shuffle(a[0], int(p[0]))]
        elif kind == 'Interp':
            assert int(p[0]) == 1, 'only nearest Interp'
            y = [F.interpolate(a[0], scale_factor=p[1], mode='nearest')]
        elif kind == 'BinaryOp':
            y = [a[0] + a[1]]
        elif kind == 'Eltwise':
            coeffs = p.get(1) or [1.0] * len(a)
            y = [sum(c * v for c, v in zip(coeffs, a))]
        elif kind == 'Concat':
            y = [torch.cat(a, 1)]
        else:
            raise ValueError(f'unsupported op {kind}')
        blobs.update(zip(outs, y))
    return blobs[program[-1][2][0]]


def main():
    param, binary, source, target, threads = sys.argv[1:6]
    torch.set_num_threads(int(threads))
    program = load(param, binary)
    image = np.asarray(Image.open(source).convert('RGB'), dtype=np.float32) / 255
    x = torch.from_numpy(image).permute(2, 0, 1).unsqueeze(0).contiguous()
    y = run(program, x)[0].clamp(0, 1).permute(1, 2, 0).mul(255).round().byte().numpy()
    Image.fromarray(y).save(target)


main()
