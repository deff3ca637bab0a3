# Copyright (c) mmmim contributors. All rights reserved.
"""FLOP formulas of MIM pre-training and the model-FLOP utilisation (MFU).

Costs are counted in multiply-accumulates (MAC) of the matrix products and
convolutions, as in the performance reference notes: a pre-norm
transformer block of width ``d`` on ``N`` tokens with MLP ratio 4 costs
``12 N d^2 + 2 N^2 d`` MAC (qkv, projection, MLP, ``QK^T`` and ``AV``);
norms, softmax and element-wise work are left out. One MAC is 2 FLOPs and
a training step (forward, backward, optimizer) is counted as 3 forward
passes. The results reproduce the published figures: MAE ViT-B/16 at
224 px is 9.78 GMAC forward, 58.7 GFLOP per image per training step.
``tools/analysis_tools/get_flops.py`` checks them against a traced count.

MFU = achieved FLOP/s / the device's dense bf16 (or fp16) peak.
"""

import math
from typing import Dict, Optional, Sequence

#: Dense bf16/fp16 tensor-core peaks in TFLOP/s (no sparsity), from the
#: vendors' datasheets; matched in this order against the device name.
PEAK_TFLOPS = (
    ('H200', 989.4),
    ('H100 PCIe', 756.0),
    ('H100', 989.4),
    ('A100', 312.0),
    ('A6000', 155.0),
    ('V100', 125.0),
    ('3090', 71.0),
)


def block_macs(tokens: int, dims: int, mlp_ratio: float = 4.0) -> float:
    """MAC of one pre-norm transformer block of width ``dims`` on
    ``tokens`` tokens: ``(4 + 2 * mlp_ratio) N d^2 + 2 N^2 d``."""
    return (4 + 2 * mlp_ratio) * tokens * dims**2 + 2 * tokens**2 * dims


def mae_macs(
    num_patches: int,
    patch_pixels: int,
    dims: int,
    layers: int,
    decoder_dims: int,
    decoder_layers: int,
    mask_ratio: float = 0.75,
    cls_token: bool = True,
    predict_all: bool = True,
    mlp_ratio: float = 4.0,
    decoder_mlp_ratio: Optional[float] = None,
    num_visible: Optional[int] = None,
    predict_dims: Optional[int] = None,
) -> Dict[str, float]:
    """Forward MAC of MAE-style pre-training (MAE, VideoMAE) by part.

    The patch embedding runs on all ``num_patches`` patches (or tubes) of
    ``patch_pixels`` values, the encoder (``layers`` blocks of width
    ``dims``) on the ``num_visible`` ones (default ``int(L * (1 -
    mask_ratio))``, as the official masking) plus the class token
    (``cls_token``), the decoder on all tokens and the prediction layer
    (``predict_dims`` outputs, default ``patch_pixels``) on all of them
    (``predict_all``, MAE: the class token included) or on the masked ones
    only (VideoMAE). ``decoder_mlp_ratio`` defaults to ``mlp_ratio``.

    Returns:
        dict: ``backbone`` (patch embedding and encoder) and ``neck``
        (decoder embedding, blocks and prediction) MAC per sample.
    """
    if num_visible is None:
        num_visible = int(num_patches * (1 - mask_ratio))
    extra = 1 if cls_token else 0
    enc_tokens, dec_tokens = num_visible + extra, num_patches + extra
    predicted = dec_tokens if predict_all else num_patches - num_visible
    dec_ratio = mlp_ratio if decoder_mlp_ratio is None else decoder_mlp_ratio
    return dict(
        backbone=num_patches * patch_pixels * dims
        + layers * block_macs(enc_tokens, dims, mlp_ratio),
        neck=enc_tokens * dims * decoder_dims
        + decoder_layers * block_macs(dec_tokens, decoder_dims, dec_ratio)
        + predicted * decoder_dims * (predict_dims or patch_pixels),
    )


def mae_forward_macs(*args, **kwargs) -> float:
    """The total of :func:`mae_macs` (same arguments)."""
    return sum(mae_macs(*args, **kwargs).values())


def simmim_vit_forward_macs(
    img_size: int,
    patch_size: int = 16,
    dims: int = 768,
    layers: int = 12,
    in_channels: int = 3,
) -> float:
    """Forward MAC of SimMIM with a ViT (ViT-B/16 by default): the encoder
    sees every token (mask tokens in place of the masked patches) and a
    1x1 convolution predicts the ``p x p`` pixels of each token."""
    patches = (img_size // patch_size) ** 2
    pixels = in_channels * patch_size**2
    return (
        patches * pixels * dims
        + layers * block_macs(patches + 1, dims)
        + patches * dims * pixels
    )


def swin_forward_macs(
    img_size: int,
    dims: int = 128,
    depths: Sequence[int] = (2, 2, 18, 2),
    window_size: int = 6,
    patch_size: int = 4,
    in_channels: int = 3,
) -> float:
    """Forward MAC of SimMIM with a Swin encoder (Swin-B by default) and
    its linear decoder.

    Stage ``i`` has width ``dims * 2^i`` on a grid halved per stage;
    window attention costs ``2 N M^2 d`` for windows of ``M x M`` tokens
    (the window shrinks to the grid where the grid is smaller); patch
    merging is a ``4d -> 2d`` linear on a quarter of the tokens. The
    decoder predicts ``32 x 32`` pixels per last-stage token.
    """
    side = img_size // patch_size
    macs = side**2 * in_channels * patch_size**2 * dims
    width = dims
    for stage, depth in enumerate(depths):
        tokens = side**2
        window = min(window_size, side)
        macs += depth * (
            12 * tokens * width**2 + 2 * tokens * window**2 * width
        )
        if stage < len(depths) - 1:
            macs += (tokens // 4) * 4 * width * 2 * width
            side, width = side // 2, width * 2
    stride = patch_size * 2 ** (len(depths) - 1)
    return macs + side**2 * width * in_channels * stride**2


def convmae_forward_macs(
    img_size: int = 224,
    dims: Sequence[int] = (256, 384, 768),
    depths: Sequence[int] = (2, 2, 11),
    patch_sizes: Sequence[int] = (4, 2, 2),
    decoder_dims: int = 512,
    decoder_layers: int = 8,
    mask_ratio: float = 0.75,
    kernel_size: int = 5,
    in_channels: int = 3,
) -> float:
    """Forward MAC of ConvMAE pre-training (ConvMAE-B by default).

    Stages 1 and 2 are dense convolution blocks (1x1 conv, masked
    depthwise ``k x k`` conv, 1x1 conv, 1x1-conv MLP with ratio 4:
    ``10 d^2 + k^2 d`` per pixel); stage 3 runs transformer blocks on the
    visible tokens only; stride convolutions map stages 1 and 2 onto the
    stage-3 grid; the decoder is MAE's without a class token.
    """
    macs, side, channels = 0.0, img_size, in_channels
    grids = []
    for stage, (dim, depth, patch) in enumerate(
        zip(dims, depths, patch_sizes)
    ):
        side //= patch
        pixels = side**2
        macs += pixels * channels * patch**2 * dim
        grids.append((side, dim))
        channels = dim
        if stage < 2:
            macs += depth * pixels * (10 * dim**2 + kernel_size**2 * dim)
    tokens = side**2
    visible = int(tokens * (1 - mask_ratio))
    macs += depths[2] * block_macs(visible, dims[2])
    for stage_side, dim in grids[:2]:  # fusion: stride conv to stage 3
        stride = stage_side // side
        macs += tokens * dim * stride**2 * dims[2]
    pixels_per_token = in_channels * math.prod(patch_sizes) ** 2
    return (
        macs
        + visible * dims[2] * decoder_dims
        + decoder_layers * block_macs(tokens, decoder_dims)
        + tokens * decoder_dims * pixels_per_token
    )


def train_flops(forward_macs: float) -> float:
    """FLOPs of one training step: 2 FLOPs per MAC, 3 forward passes."""
    return 6.0 * forward_macs


def achieved_tflops(
    flops_per_sample: float, batch_size: int, step_ms: float
) -> float:
    """Achieved TFLOP/s of a training step of ``step_ms`` milliseconds."""
    return flops_per_sample * batch_size / (step_ms / 1000.0) / 1e12


def mfu(tflops: float, peak_tflops: Optional[float]) -> Optional[float]:
    """Model-FLOP utilisation as a fraction, or None without a peak."""
    if not peak_tflops:
        return None
    return tflops / peak_tflops


def device_peak_tflops(device_name: str) -> Optional[float]:
    """The dense bf16 peak of a GPU from its name (e.g.
    ``torch.cuda.get_device_name()``) in :data:`PEAK_TFLOPS`, or None."""
    for key, peak in PEAK_TFLOPS:
        if key.lower() in device_name.lower():
            return peak
    return None
