# Copyright (c) mmmim contributors. All rights reserved.
"""Count the multiply-accumulates and parameters of a config's model.

Example::

    python tools/analysis_tools/get_flops.py \\
        configs/mae/mae_vit-base-p16_8xb512-amp-coslr-1600e_in1k.py

The model runs once on a random ``[1, 3, H, W]`` input (``[1, 3, T, H,
W]`` for video) through ``mmengine.analysis.FlopAnalyzer``: masked image
models through ``reconstruct`` (mask drawn by the model's generator),
classifiers through ``forward(mode='tensor')``, mmdet detectors and mmseg
segmentors through ``forward(mode='tensor')`` with a synthetic data
sample of the input size (the ``configs/*/benchmarks/mmdet|mmseg``
configs; give ``--shape``, e.g. 1024 or 512). Counts are split by
top-level part (for MAE: the encoder ``backbone``, the decoder ``neck``
and the loss ``head``).

As in fvcore and mmengine, one multiply-accumulate counts as one "flop"
(GMAC below); the FLOPs of the arithmetic are twice that. mmengine has no
rule for ``scaled_dot_product_attention``; this tool adds one (the two
matrix products ``Q K^T`` and ``A V``) so that SDPA attention is counted
like explicit attention. For an MAE ViT the count is printed next to the
closed form of ``mmmim.analysis.flops`` (the formulas of ``benchmark.py``):
per block ``4 N d^2 + 2 N d f + 2 N^2 d`` (``12 N d^2 + 2 N^2 d`` for an
MLP ratio of 4).
"""

import argparse
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.config import Config, DictAction

from mmmim.analysis.flops import mae_macs


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Count MACs and parameters of a model'
    )
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--shape',
        type=int,
        nargs='+',
        default=None,
        help='input size: H W, one side, or T H W for video (default: '
        "the backbone's input size, else 224)",
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.backbone.arch=l',
    )
    return parser.parse_args(argv)


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """MACs of ``scaled_dot_product_attention``: ``Q K^T`` and ``A V``.

    Args:
        inputs (list): Traced inputs; ``query [..., Nq, d]``,
            ``key [..., Nk, d]``, ``value [..., Nk, dv]``.
        outputs (list): Traced outputs (unused).

    Returns:
        int: ``prod(batch dims) * Nq * Nk * (d + dv)``.
    """
    from mmengine.analysis.jit_handles import get_shape

    q_shape, k_shape, v_shape = (get_shape(v) for v in inputs[:3])
    batch = 1
    for size in q_shape[:-2]:
        batch *= size
    num_q, dims = q_shape[-2:]
    num_k = k_shape[-2]
    return batch * num_q * num_k * (dims + v_shape[-1])


def dense_data_samples(model: nn.Module, shape: Sequence[int]) -> list:
    """One data sample with the image metadata mmdet / mmseg models read.

    Args:
        model (nn.Module): The model; its package decides the sample type.
        shape (Sequence[int]): Input ``(H, W)``.

    Returns:
        list: ``[DetDataSample]``, ``[SegDataSample]``, or ``[]`` for
        other models.
    """
    package = type(model).__module__.split('.')[0]
    h, w = shape[-2:]
    meta = dict(
        img_shape=(h, w),
        ori_shape=(h, w),
        pad_shape=(h, w),
        batch_input_shape=(h, w),
        scale_factor=(1.0, 1.0),
    )
    if package == 'mmdet':
        from mmdet.structures import DetDataSample

        return [DetDataSample(metainfo=meta)]
    if package == 'mmseg':
        from mmseg.structures import SegDataSample

        return [SegDataSample(metainfo=meta)]
    return []


class _ForwardOnce(nn.Module):
    """Run a model the way it computes during training or inference:
    ``reconstruct`` for masked image models, else ``mode='tensor'`` (with
    synthetic data samples for detectors and segmentors)."""

    def __init__(self, model: nn.Module, data_samples: list) -> None:
        super().__init__()
        self.model = model
        self.data_samples = data_samples

    def forward(self, inputs: torch.Tensor) -> Any:
        if hasattr(self.model, 'reconstruct'):
            return self.model.reconstruct(inputs)['pred']
        if self.data_samples:
            return self.model(inputs, self.data_samples, mode='tensor')
        return self.model(inputs, mode='tensor')


def build_model(cfg: Config) -> nn.Module:
    """Build ``cfg.model`` in the config's default scope, in eval mode.

    mmmim configs build in mmmim's scope; mmdet / mmseg downstream configs
    (``default_scope='mmdet'`` or ``'mmseg'``) in theirs.

    Args:
        cfg (Config): A loaded config.

    Returns:
        nn.Module: The model, on the CPU.
    """
    from mmengine.registry import MODELS, DefaultScope

    from mmmim.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    scope = cfg.get('default_scope', 'mmmim')
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg.model).eval()


def input_shape(model: nn.Module, shape: Optional[Sequence[int]]) -> tuple:
    """``(H, W)`` or ``(T, H, W)``: ``--shape``, else the backbone's size.

    The default is the backbone's token grid times its patch size (the
    patch embedding's kernel for a video backbone), else ``img_size``,
    else 224.
    """
    if shape:
        if len(shape) not in (1, 2, 3):
            raise ValueError(f'--shape takes H W, one side or T H W: {shape}')
        return tuple(shape) if len(shape) == 3 else (shape[0], shape[-1])
    backbone = getattr(model, 'backbone', None)
    grid = getattr(backbone, 'grid_size', None)
    patch = getattr(backbone, 'patch_size', None)
    if grid is not None and len(grid) == 3:
        proj = getattr(getattr(backbone, 'patch_embed', None), 'proj', None)
        kernel = getattr(proj, 'kernel_size', None)
        if kernel is not None and len(kernel) == 3:
            return tuple(g * k for g, k in zip(grid, kernel))
    if grid is not None and isinstance(patch, int):
        return (grid[0] * patch, grid[1] * patch)
    img_size = getattr(backbone, 'img_size', 224)
    if isinstance(img_size, int):
        return (img_size, img_size)
    return tuple(img_size)[:2]


def analyse(model: nn.Module, shape: Tuple[int, ...]) -> Dict[str, Any]:
    """Count MACs (total and per part) and parameters for one input.

    Args:
        model (nn.Module): A model with ``reconstruct`` or a classifier.
        shape (Tuple[int, ...]): Input ``(H, W)`` or ``(T, H, W)``.

    Returns:
        dict: ``macs`` and ``params`` (dicts of part -> count, with
        ``'total'``), and ``unsupported`` (op name -> count of calls that
        were not counted).
    """
    torch.manual_seed(0)
    inputs = torch.randn(1, 3, *shape)
    wrapper = _ForwardOnce(model, dense_data_samples(model, shape))
    analyzer = FlopAnalyzer(wrapper, (inputs,))
    analyzer.set_op_handle('aten::scaled_dot_product_attention', sdpa_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    by_module = analyzer.by_module()
    counts = parameter_count(model)
    macs = {'total': analyzer.total()}
    params = {'total': counts['']}
    for part, _ in model.named_children():
        if part == 'data_preprocessor':
            continue
        macs[part] = by_module.get(f'model.{part}', 0)
        params[part] = counts.get(part, 0)
    return dict(
        macs=macs, params=params, unsupported=dict(analyzer.unsupported_ops())
    )


def mae_formula(model: nn.Module, shape: Tuple[int, int]) -> Optional[dict]:
    """The closed-form MACs of an MAE ViT: :func:`mmmim.analysis.flops.
    mae_macs` with the model's geometry and visible-token count.

    Args:
        model (nn.Module): The model; only an ``MAEViT`` backbone with an
            ``MAEDecoder`` neck is handled.
        shape (Tuple[int, int]): Input ``(H, W)``.

    Returns:
        dict, optional: ``backbone``, ``neck`` and ``total`` MACs, or None
        for other models.
    """
    backbone = getattr(model, 'backbone', None)
    neck = getattr(model, 'neck', None)
    if type(backbone).__name__ != 'MAEViT':
        return None
    if type(neck).__name__ != 'MAEDecoder' or backbone.encoder_mask_token:
        return None
    patch, dims = backbone.patch_size, backbone.embed_dims
    grid = (shape[0] // patch, shape[1] // patch)
    dec_dims = neck.decoder_embed.out_features
    parts = mae_macs(
        num_patches=grid[0] * grid[1],
        patch_pixels=patch * patch * backbone.patch_embed.proj.in_channels,
        dims=dims,
        layers=len(backbone.blocks),
        decoder_dims=dec_dims,
        decoder_layers=len(neck.decoder_blocks),
        mlp_ratio=backbone.blocks[0].mlp.fc1.out_features / dims,
        decoder_mlp_ratio=neck.decoder_blocks[0].mlp.fc1.out_features
        / dec_dims,
        num_visible=grid[0] * grid[1]
        - backbone.mask_generator.num_masked(grid),
        predict_dims=neck.predict_dims,
    )
    return dict(parts, total=parts['backbone'] + parts['neck'])


def report(result: dict, formula: Optional[dict], shape: tuple) -> str:
    """A plain-text table of the counts."""
    macs, params = result['macs'], result['params']
    total = macs['total']
    lines = [
        f'input shape: {(1, 3, *shape)}',
        f'{"part":<15}{"GMAC":>10}{"share":>8}{"params (M)":>12}'
        + (f'{"formula GMAC":>14}{"diff":>8}' if formula else ''),
    ]
    for part in [*[p for p in macs if p != 'total'], 'total']:
        line = (
            f'{part:<15}{macs[part] / 1e9:>10.3f}'
            f'{100 * macs[part] / max(total, 1):>7.1f}%'
            f'{params[part] / 1e6:>12.2f}'
        )
        if formula and part in formula:
            ref = formula[part]
            line += (
                f'{ref / 1e9:>14.3f}'
                f'{100 * (macs[part] - ref) / max(ref, 1):>+7.2f}%'
            )
        lines.append(line)
    lines.append(
        f'GFLOPs (2 x MAC): {2 * total / 1e9:.3f}; training step about '
        f'3 x forward: {6 * total / 1e9:.1f} GFLOPs'
    )
    if result['unsupported']:
        ops = ', '.join(sorted(result['unsupported']))
        lines.append(f'not counted (elementwise or unsupported): {ops}')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    model = build_model(cfg)
    shape = input_shape(model, args.shape)
    with torch.no_grad():
        result = analyse(model, shape)
    print(report(result, mae_formula(model, shape), shape))


if __name__ == '__main__':
    main()
