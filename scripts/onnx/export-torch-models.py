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
tinyllama (a Llama-style decoder: RMSNorm, rotary embeddings of positions
computed from a left-padded attention mask, grouped-query attention, a
SiLU-gated MLP; inputs input_ids, attention_mask), tinygpt2 (GPT-2's
blocks: learned positions, the causal mask from a tril buffer, gelu_new,
a tied head; input input_ids), gpt2_head (the same with GPT-2 small's
50,257-token vocabulary and width 768, one block: a 154 MB tied head),
r3d_18, mc3_18, r2plus1d_18
(torchvision.models.video on 1x3x4x32x32 clips), s3d (separable 3-D
convolutions, 3-D pooling padded SAME-style; 1x3x16x224x224), or unet3d (a 3-D U-Net as nnU-Net builds one: Conv3d,
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


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d) + 0.1 * torch.randn(d))
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaAttention(nn.Module):
    """Grouped-query attention with rotary embeddings, as modeling_llama."""

    def __init__(self, d=64, heads=4, kv_heads=2):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, d // heads
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, kv_heads * self.head_dim, bias=False)
        self.v = nn.Linear(d, kv_heads * self.head_dim, bias=False)
        self.o = nn.Linear(d, d, bias=False)

    def split(self, x, heads):
        n, t, _ = x.shape
        return x.view(n, t, heads, self.head_dim).transpose(1, 2)

    def repeat_kv(self, x):
        n, _, t, _ = x.shape
        repeats = self.heads // self.kv_heads
        return (x[:, :, None].expand(n, self.kv_heads, repeats, t, self.head_dim)
                .reshape(n, self.heads, t, self.head_dim))

    def forward(self, x, cos, sin, mask):
        n, t, _ = x.shape
        q = self.split(self.q(x), self.heads)
        k = self.split(self.k(x), self.kv_heads)
        v = self.split(self.v(x), self.kv_heads)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k, v = self.repeat_kv(k), self.repeat_kv(v)
        scores = q @ k.transpose(2, 3) / math.sqrt(self.head_dim) + mask
        context = torch.softmax(scores, dim=-1) @ v
        return self.o(context.transpose(1, 2).reshape(n, t, -1))


class LlamaBlock(nn.Module):
    def __init__(self, d=64, hidden=128):
        super().__init__()
        self.attention_norm = RMSNorm(d)
        self.attention = LlamaAttention(d)
        self.mlp_norm = RMSNorm(d)
        self.gate = nn.Linear(d, hidden, bias=False)
        self.up = nn.Linear(d, hidden, bias=False)
        self.down = nn.Linear(hidden, d, bias=False)

    def forward(self, x, cos, sin, mask):
        x = x + self.attention(self.attention_norm(x), cos, sin, mask)
        h = self.mlp_norm(x)
        return x + self.down(nn.functional.silu(self.gate(h)) * self.up(h))


class TinyLlama(nn.Module):
    """A Llama-style decoder whose positions come from the attention mask
    (cumsum - 1, as generation with left padding computes them), so the
    rotary tables are computed per inference."""

    def __init__(self, vocab=100, d=64, layers=2, head_dim=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(LlamaBlock(d) for _ in range(layers))
        self.norm = RMSNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        inv_freq = 1.0 / (10000 ** (torch.arange(0, head_dim, 2).float() / head_dim))
        self.register_buffer("inv_freq", inv_freq)

    def forward(self, input_ids, attention_mask):
        t = input_ids.shape[1]
        positions = (attention_mask.cumsum(-1) - 1).masked_fill(attention_mask == 0, 1)
        angles = positions[:, :, None].float() * self.inv_freq[None, None, :]
        angles = torch.cat((angles, angles), dim=-1)
        cos, sin = angles.cos()[:, None], angles.sin()[:, None]
        lowest = torch.finfo(torch.float32).min
        causal = torch.full((t, t), lowest).triu(1)
        padding = (1.0 - attention_mask[:, None, None, :].float()) * lowest
        mask = causal[None, None] + padding
        x = self.embed(input_ids)
        for block in self.blocks:
            x = block(x, cos, sin, mask)
        return self.head(self.norm(x))


class Gpt2Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    @staticmethod
    def gelu_new(x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) *
                                           (x + 0.044715 * torch.pow(x, 3.0))))

    def forward(self, x, causal):
        n, t, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        q, k, v = (z.view(n, t, self.heads, -1).permute(0, 2, 1, 3) for z in (q, k, v))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(v.size(-1))
        scores = torch.where(causal, scores, torch.tensor(torch.finfo(scores.dtype).min))
        context = torch.matmul(scores.softmax(-1), v).permute(0, 2, 1, 3).reshape(n, t, d)
        x = x + self.c_proj(context)
        return x + self.mlp_proj(self.gelu_new(self.c_fc(self.ln_2(x))))


class TinyGpt2(nn.Module):
    """GPT-2 as modeling_gpt2 writes it: learned positions, the causal mask
    sliced from a tril buffer, gelu_new, the head tied to the embedding."""

    def __init__(self, vocab=100, d=64, layers=2, heads=4, context=32):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(context, d)
        self.blocks = nn.ModuleList(Gpt2Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.register_buffer("bias", torch.tril(torch.ones(context, context))[None, None])

    def forward(self, input_ids):
        t = input_ids.shape[1]
        positions = torch.arange(0, t, dtype=torch.long)[None]
        x = self.wte(input_ids) + self.wpe(positions)
        causal = self.bias[:, :, :t, :t].bool()
        for block in self.blocks:
            x = block(x, causal)
        return torch.matmul(self.ln_f(x), self.wte.weight.t())


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
    if name in ("tinyllama", "tinygpt2", "gpt2_head"):
        ids = torch.randint(0, 100, (1, 12))
        if name == "tinygpt2":
            return TinyGpt2(), (ids,), ["input_ids"]
        if name == "gpt2_head":  # GPT-2 small's vocabulary and width, one block
            return TinyGpt2(vocab=50257, d=768, layers=1, heads=12), (ids,), ["input_ids"]
        mask = torch.ones(1, 12, dtype=torch.int64)
        mask[0, :3] = 0  # left padding, as batched generation pads
        return TinyLlama(), (ids, mask), ["input_ids", "attention_mask"]
    if name == "unet3d":
        return UNet3d(), (torch.randn(1, 1, 16, 32, 32),), ["x"]
    if name.startswith("segmentation."):
        name, _, size = name.partition(":")
        size = int(size) if size else 64
        model = getattr(tvm.segmentation, name.split(".", 1)[1])(weights=None,
                                                                  weights_backbone=None)
        return SegmentationOut(model), (torch.randn(1, 3, size, size),), ["x"]
    if name in ("r3d_18", "mc3_18", "r2plus1d_18", "s3d"):
        frames, size = (16, 224) if name == "s3d" else (4, 32)
        return (getattr(tvm.video, name)(weights=None),
                (torch.randn(1, 3, frames, size, size),), ["x"])
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
