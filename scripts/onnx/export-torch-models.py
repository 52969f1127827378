#!/usr/bin/python3
"""Exports torchvision architectures and small transformer models with
random weights to ONNX, with one input .npy each, for trying the runtime on
networks beyond the PaddleOCR models (docs/onnx-runtime.md, "PyTorch
exports"). An exploration tool, not a test: it needs Debian's
python3-torch and python3-torchvision (`apt-get install python3-torch
python3-torchvision`), which no test depends on.

  export-torch-models.py OUTDIR OPSET MODEL...

MODEL: a torchvision.models builder (resnet18, mobilenet_v3_small, ...;
NAME:SIZE for an input of SIZE x SIZE instead of 64, or 96 for squeezenet),
or encoder (torch.nn.TransformerEncoder, 2 layers, d 32, 4 heads), tinybert
(nn.Embedding, positional embeddings, a TransformerEncoder with GELU and a
key padding mask, a classifier on token 0; inputs ids and mask, int64), or
yolo (Conv/BN/LeakyReLU/SiLU, nn.Upsample, Concat, a detection head with
Reshape, Permute and Sigmoid), hfbert (BERT written as Hugging Face's
modeling_bert writes it: word, position and token-type embeddings, the 4-D
additive mask of _prepare_4d_attention_mask, separate Q/K/V projections,
erf GELU, a tanh pooler; inputs input_ids, attention_mask, token_type_ids)
or hfbert_legacy (the same with the older mask, (1 - mask) * finfo.min),
crnn (a CRNN text recogniser: a conv stack over a 32 x 100 line image, the
height pooled to 1, a 2-layer bidirectional LSTM over the 25 columns, a
per-column classifier with log-softmax, as CTC recognisers are exported),
or gru_tagger (a batch-first 2-layer bidirectional GRU over 20 steps of 16
features, a linear head per step), or einsum_attention (multi-head
attention written with torch.einsum, as some transformer code writes it),
r3d_18, mc3_18, r2plus1d_18 (torchvision.models.video on 1x3x4x32x32
clips), or unet3d (a 3-D U-Net as nnU-Net builds one: Conv3d,
InstanceNorm3d, LeakyReLU, ConvTranspose3d up-sampling, skip connections;
1x1x16x32x32). Writes OUTDIR/MODEL-opOPSET.onnx and OUTDIR/MODEL-INPUT.npy
(seed 0).
"""
import math
import sys

import numpy as np
import torch
import torchvision.models as tvm
from torch import nn


class TinyBert(nn.Module):
    def __init__(self, vocab=100, d=32, heads=4, layers=2, seq=16):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(seq, d)
        self.register_buffer("position_ids", torch.arange(seq).unsqueeze(0))
        self.ln = nn.LayerNorm(d)
        layer = nn.TransformerEncoderLayer(d, heads, 64, dropout=0.0, activation="gelu",
                                           batch_first=True)
        self.enc = nn.TransformerEncoder(layer, layers)
        self.head = nn.Linear(d, 2)

    def forward(self, ids, mask):
        x = self.tok(ids) + self.pos(self.position_ids[:, :ids.shape[1]])
        x = self.enc(self.ln(x), src_key_padding_mask=mask == 0)
        return self.head(x[:, 0])


class HfBertLayer(nn.Module):
    def __init__(self, d, heads, inner):
        super().__init__()
        self.heads, self.head_size = heads, d // heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.attn_out, self.attn_ln = nn.Linear(d, d), nn.LayerNorm(d, eps=1e-12)
        self.inter, self.out, self.out_ln = nn.Linear(d, inner), nn.Linear(inner, d), nn.LayerNorm(d, eps=1e-12)

    def scores_shape(self, x):
        return x.view(x.size()[:-1] + (self.heads, self.head_size)).permute(0, 2, 1, 3)

    def forward(self, x, mask):
        q, k, v = (self.scores_shape(f(x)) for f in (self.query, self.key, self.value))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size) + mask
        ctx = torch.matmul(nn.functional.softmax(scores, dim=-1), v).permute(0, 2, 1, 3).contiguous()
        x = self.attn_ln(self.attn_out(ctx.view(ctx.size()[:-2] + (-1,))) + x)
        return self.out_ln(self.out(nn.functional.gelu(self.inter(x))) + x)


class HfBert(nn.Module):
    def __init__(self, legacy_mask, vocab=100, d=32, heads=4, layers=2, seq=16):
        super().__init__()
        self.legacy_mask = legacy_mask
        self.word, self.pos, self.token_type = nn.Embedding(vocab, d), nn.Embedding(seq, d), nn.Embedding(2, d)
        self.register_buffer("position_ids", torch.arange(seq).expand((1, -1)))
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(HfBertLayer(d, heads, 4 * d) for _ in range(layers))
        self.pooler = nn.Linear(d, d)

    def additive_mask(self, mask, dtype):
        batch, seq = mask.shape
        expanded = mask[:, None, None, :].expand(batch, 1, seq, seq).to(dtype)
        if self.legacy_mask:
            return (1.0 - expanded) * torch.finfo(dtype).min
        inverted = 1.0 - expanded
        return inverted.masked_fill(inverted.to(torch.bool), torch.finfo(dtype).min)

    def forward(self, input_ids, attention_mask, token_type_ids):
        seq = input_ids.shape[1]
        x = self.word(input_ids) + self.token_type(token_type_ids) + self.pos(self.position_ids[:, :seq])
        x = self.ln(x)
        mask = self.additive_mask(attention_mask, x.dtype)
        for layer in self.layers:
            x = layer(x, mask)
        return x, torch.tanh(self.pooler(x[:, 0]))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2)

    def forward(self, x):
        return self.enc(x)


class Yolo(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.LeakyReLU(0.1))
        self.c2 = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.SiLU())
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.head = nn.Conv2d(48, 3 * 7, 1)

    def forward(self, x):
        a = self.c1(x)
        y = self.head(torch.cat([self.up(self.c2(a)), a], 1))
        n, _, h, w = y.shape
        return torch.sigmoid(y.view(n, 3, 7, h, w).permute(0, 1, 3, 4, 2))


class Crnn(nn.Module):
    def __init__(self, classes=37, hidden=48):
        super().__init__()

        def block(cin, cout, pool):
            return [nn.Conv2d(cin, cout, 3, 1, 1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(pool)]
        self.cnn = nn.Sequential(*block(3, 16, 2), *block(16, 32, 2), *block(32, 64, (2, 1)),
                                 *block(64, 64, (4, 1)))
        self.rnn = nn.LSTM(64, hidden, num_layers=2, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        features = self.cnn(x).squeeze(2).permute(2, 0, 1)  # [W, N, C]
        sequence, _ = self.rnn(features)
        return self.fc(sequence).log_softmax(2)


class GruTagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(16, 24, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(48, 5)

    def forward(self, x):
        sequence, last = self.rnn(x)
        return self.head(sequence), last


class EinsumAttention(nn.Module):
    def __init__(self, d=32, heads=4):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)

    def forward(self, x):
        n, t, d = x.shape
        q, k, v = self.qkv(x).view(n, t, 3, self.heads, d // self.heads).unbind(2)
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(d // self.heads)
        context = torch.einsum("bhqk,bkhd->bqhd", scores.softmax(-1), v)
        return self.out(context.reshape(n, t, d))


class UNet3d(nn.Module):
    """A 3-D U-Net as nnU-Net builds one: two (Conv3d, InstanceNorm3d,
    LeakyReLU) per stage, strided convolutions down, ConvTranspose3d
    (kernel 2, stride 2) up, skip connections concatenated, a 1x1x1 head."""

    def __init__(self, widths=(8, 16, 32), classes=3):
        super().__init__()

        def stage(cin, cout, stride):
            return nn.Sequential(
                nn.Conv3d(cin, cout, 3, stride, 1), nn.InstanceNorm3d(cout, affine=True),
                nn.LeakyReLU(0.01), nn.Conv3d(cout, cout, 3, 1, 1),
                nn.InstanceNorm3d(cout, affine=True), nn.LeakyReLU(0.01))
        ins = (1,) + widths[:-1]
        self.down = nn.ModuleList(stage(i, o, 1 if i == 1 else 2) for i, o in zip(ins, widths))
        self.up = nn.ModuleList(nn.ConvTranspose3d(o, i, 2, 2)
                                for i, o in zip(widths[-2::-1], widths[:0:-1]))
        self.merge = nn.ModuleList(stage(2 * w, w, 1) for w in widths[-2::-1])
        self.head = nn.Conv3d(widths[0], classes, 1)

    def forward(self, x):
        skips = []
        for stage in self.down:
            x = stage(x)
            skips.append(x)
        skips.pop()
        for up, merge in zip(self.up, self.merge):
            x = merge(torch.cat([up(x), skips.pop()], 1))
        return self.head(x)


class SegmentationOut(nn.Module):
    """torchvision's segmentation models return a dict; export its "out"."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


def make(name):
    if name == "einsum_attention":
        return EinsumAttention(), (torch.randn(1, 10, 32),), ["x"]
    if name == "crnn":
        return Crnn(), (torch.randn(1, 3, 32, 100),), ["x"]
    if name == "gru_tagger":
        return GruTagger(), (torch.randn(1, 20, 16),), ["x"]
    if name == "tinybert":
        ids = torch.randint(0, 100, (1, 16))
        mask = torch.ones(1, 16, dtype=torch.int64)
        mask[0, 12:] = 0
        return TinyBert(), (ids, mask), ["ids", "mask"]
    if name in ("hfbert", "hfbert_legacy"):
        ids = torch.randint(0, 100, (1, 16))
        mask = torch.ones(1, 16, dtype=torch.int64)
        mask[0, 11:] = 0
        types = torch.zeros(1, 16, dtype=torch.int64)
        types[0, 6:] = 1
        return (HfBert(name == "hfbert_legacy"), (ids, mask, types),
                ["input_ids", "attention_mask", "token_type_ids"])
    if name == "encoder":
        return Encoder(), (torch.randn(1, 10, 32),), ["x"]
    if name == "yolo":
        return Yolo(), (torch.randn(1, 3, 64, 64),), ["x"]
    if name == "unet3d":
        return UNet3d(), (torch.randn(1, 1, 16, 32, 32),), ["x"]
    if name.startswith("segmentation."):
        name, _, size = name.partition(":")
        size = int(size) if size else 64
        model = getattr(tvm.segmentation, name.split(".", 1)[1])(weights=None,
                                                                  weights_backbone=None)
        return SegmentationOut(model), (torch.randn(1, 3, size, size),), ["x"]
    if name in ("r3d_18", "mc3_18", "r2plus1d_18"):
        return getattr(tvm.video, name)(weights=None), (torch.randn(1, 3, 4, 32, 32),), ["x"]
    name, _, size = name.partition(":")
    size = int(size) if size else 96 if name.startswith("squeezenet") else 64
    kwargs = {"image_size": size} if name.startswith("vit_") else {}
    return getattr(tvm, name)(weights=None, **kwargs), (torch.randn(1, 3, size, size),), ["x"]


def main(out, opset, names):
    for name in names:
        torch.manual_seed(0)
        model, args, inputs = make(name)
        model.eval()
        base = name.replace(":", "-")
        path = f"{out}/{base}-op{opset}.onnx"
        torch.onnx.export(model, args, path, input_names=inputs, opset_version=opset)
        for input_name, value in zip(inputs, args):
            np.save(f"{out}/{base}-{input_name}.npy", value.numpy())
        print(path)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
