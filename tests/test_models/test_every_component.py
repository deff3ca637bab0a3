# Copyright (c) mmmim contributors. All rights reserved.
"""Every registered mmmim model component: build, forward, backward.

The tests enumerate ``mmmim.registry.MODELS`` and ``TASK_UTILS`` (the
components defined in the ``mmmim`` package), so a newly registered
component is picked up automatically, and *fails* until it gets a tiny
config in :data:`COMPONENTS` (or :data:`MASK_GENERATORS`). Components that
tests register for themselves (``tests/data/toy_components.py``) are not
mmmim's and are left out.

Each model component is built from its tiny config (with its official
``init_weights``), run forward, its output shapes compared with the table,
and a random projection of its float outputs (a plain sum is blind behind
a LayerNorm) back-propagated. Then, per ``check``:

* ``'params'``: every parameter that requires grad gets a finite gradient
  (the table names the ones a forward legitimately leaves out, with the
  reason), at least one gradient is non-zero, and so is every gradient.
* ``'inputs'`` (reconstruction heads: no trainable parameters): the
  gradient reaches the prediction, finite, non-zero on the masked tokens
  and exactly zero on the visible ones (the loss scores masked tokens only).
* ``'values'`` (the data preprocessor: buffers, no parameters): no
  backward; the outputs equal independently computed values.
"""

import copy
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import pytest
import torch
import torch.nn as nn

import mmmim.models  # noqa: F401  (registers every component)
from mmmim.registry import MODELS, TASK_UTILS

B = 2  # batch size of every case
TINY_VIT = dict(
    embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64
)
TINY_CONV = dict(embed_dims=(16, 24, 32), num_layers=(1, 1, 2), num_heads=4)
TINY_SWIN = dict(embed_dims=16, depths=[1, 1, 1, 1], num_heads=[2, 2, 2, 2])
VIDEO = dict(img_size=32, num_frames=4, patch_size=8, tubelet_size=2)
#: 32 px / 8 px patches: a 4 x 4 grid; videos 4 frames / 2: 2 x 4 x 4.
L_IMG, L_VIDEO = 16, 32
SIMMIM_GENERATOR = dict(
    type='SimMIMMaskGenerator',
    mask_ratio=0.6,
    mask_patch_size=16,
    model_patch_size=8,
)
TINY_DALLE = dict(
    type='mmpretrain.DALL-E', n_hid=8, n_blk_per_group=1, vocab_size=16
)


def _randn(*shape: int) -> torch.Tensor:
    return torch.randn(*shape)


def _leaf(*shape: int) -> torch.Tensor:
    return torch.randn(*shape).requires_grad_()


def _mask(num_tokens: int, num_masked: int) -> torch.Tensor:
    """``[B, L]`` bool, ``num_masked`` random tokens per row."""
    ranks = torch.rand(B, num_tokens).argsort(1).argsort(1)
    return ranks < num_masked


def _imgs(size: int = 32) -> torch.Tensor:
    return torch.randn(B, 3, size, size)


def _videos() -> torch.Tensor:
    return torch.randn(B, 3, 4, 32, 32)


@dataclass
class Run:
    """What one forward gives the generic checks.

    Attributes:
        outputs: The tensors whose shapes are compared with the table.
        loss: A scalar to back-propagate; None: a random projection of the
            float outputs.
        inputs: Leaves whose gradient is checked (``check='inputs'``).
        masked: Bool ``[B, L]``: which rows of ``inputs`` the loss scores.
        expected: Values the outputs must equal (``check='values'``).
    """

    outputs: Tuple[torch.Tensor, ...]
    loss: Optional[torch.Tensor] = None
    inputs: Tuple[torch.Tensor, ...] = ()
    masked: Optional[torch.Tensor] = None
    expected: Tuple[torch.Tensor, ...] = ()


@dataclass
class Case:
    """A tiny config of one registered component and how to run it.

    Attributes:
        cfg: The config, or a function of a temporary folder giving it
            (for components that load files).
        run: Forward of the built component.
        shapes: Expected shapes of ``Run.outputs``.
        check: ``'params'``, ``'inputs'`` or ``'values'`` (module doc).
        why: Why a case is not checked on its parameters.
        unused: Trainable parameters the forward leaves out, with reasons.
    """

    cfg: Union[dict, Callable[[Path], dict]]
    run: Callable[[nn.Module], Run]
    shapes: Sequence[tuple]
    check: str = 'params'
    why: str = ''
    unused: Dict[str, str] = field(default_factory=dict)


# --- forwards --------------------------------------------------------------


def _backbone(x_fn: Callable[[], torch.Tensor]) -> Callable:
    def run(model):
        out = model(x_fn())
        return Run(outputs=tuple(out))

    return run


def _decoder(latent_shape: tuple, num_tokens: int, num_masked: int):
    def run(model):
        mask = _mask(num_tokens, num_masked)
        return Run(outputs=(model(_leaf(*latent_shape), mask),))

    return run


def _image_head(pred_dims: int):
    """``loss_from_target`` of an image head on random predictions."""

    def run(model):
        imgs = _imgs()
        target = model.target(imgs)
        mask = _mask(L_IMG, 12)
        pred = _leaf(B, L_IMG, pred_dims)
        loss = model.loss_from_target(pred, target, mask)
        return Run(
            outputs=(target, loss), loss=loss, inputs=(pred,), masked=mask
        )

    return run


def _video_head(model):
    videos = _videos()
    target = model.target(videos)
    mask = _mask(L_VIDEO, 28)
    masked_ids = torch.nonzero(mask)[:, 1].view(B, 28)  # ascending
    pred = _leaf(B, 28, 384)
    loss = model.loss_from_target(pred, target, mask, masked_ids)
    return Run(outputs=(target, loss), loss=loss, inputs=(pred,))


def _algorithm(x_fn: Callable[[], torch.Tensor]) -> Callable:
    def run(model):
        losses = model.loss(x_fn())
        assert set(losses) == {'loss'}, losses.keys()
        return Run(outputs=(losses['loss'],), loss=losses['loss'])

    return run


def _video_classifier(model):
    from mmpretrain.structures import DataSample

    videos = _videos()
    samples = [DataSample().set_gt_label(label) for label in (1, 4)]
    logits = model(videos, mode='tensor')
    loss = model(videos, samples, mode='loss')['loss']
    return Run(outputs=(logits, loss), loss=loss)


def _video_preprocessor(model):
    views = [
        torch.randint(0, 256, (2, 3, 4, 8, 8), dtype=torch.uint8)
        for _ in range(B)
    ]
    out = model(dict(inputs=views, data_samples=None), training=False)
    mean = torch.tensor([10.0, 20.0, 30.0]).view(1, 3, 1, 1, 1)
    std = torch.tensor([2.0, 4.0, 8.0]).view(1, 3, 1, 1, 1)
    expected = (torch.cat(views).float() - mean) / std
    return Run(outputs=(out['inputs'],), expected=(expected,))


def _jpeg_preprocessor(model):
    # B random 8 x 8 JPEGs, each recipe the whole image at its own size
    # (the antialiased resize is then the identity), no flip.
    import io

    from mmpretrain.structures import DataSample
    from PIL import Image
    from torchvision.io import decode_image

    files, samples, decoded = [], [], []
    for _ in range(B):
        pixels = torch.randint(0, 256, (8, 8, 3), dtype=torch.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels.numpy()).save(buffer, 'JPEG')
        data = torch.frombuffer(
            bytearray(buffer.getvalue()), dtype=torch.uint8
        )
        files.append(data)
        decoded.append(decode_image(data).float())
        recipe = dict(
            box=(0, 0, 8, 8),
            flip=False,
            orientation=1,
            format='JPEG',
            size=(8, 8),
            interpolation='bilinear',
        )
        samples.append(DataSample(metainfo=dict(device_decode=recipe)))
    out = model(dict(inputs=files, data_samples=samples), training=True)
    mean = torch.tensor([10.0, 20.0, 30.0]).view(1, 3, 1, 1)
    std = torch.tensor([2.0, 4.0, 8.0]).view(1, 3, 1, 1)
    expected = (torch.stack(decoded) - mean) / std
    return Run(outputs=(out['inputs'],), expected=(expected,))


def _tokenizer_head_cfg(tmp_path: Path) -> dict:
    """A tiny DALL-E saved as the tokenizer checkpoint."""
    tokenizer = MODELS.build(copy.deepcopy(TINY_DALLE))
    path = tmp_path / 'tiny_dalle.pth'
    torch.save(tokenizer.state_dict(), path)
    return dict(
        type='TokenReconstructionHead',
        patch_size=8,
        tokenizer=dict(
            TINY_DALLE, init_cfg=dict(type='Pretrained', checkpoint=str(path))
        ),
    )


# --- the table: one tiny config per registered name ------------------------

COMPONENTS: Dict[str, Case] = {
    # Backbones.
    'MAEViT': Case(
        cfg=dict(
            type='MAEViT',
            arch=TINY_VIT,
            img_size=32,
            patch_size=8,
            mask_generator=dict(type='RandomMaskGenerator', mask_ratio=0.75),
        ),
        run=_backbone(_imgs),
        # cls + 4 visible tokens, and the mask.
        shapes=[(B, 5, 32), (B, L_IMG)],
    ),
    'WindowedViT': Case(
        cfg=dict(
            type='WindowedViT',
            arch=TINY_VIT,
            img_size=32,
            patch_size=8,
            window_size=3,  # 4 x 4 grid: padded windows
            global_attn_indexes=(1,),
            use_rel_pos_bias=True,
            out_indices=(0, 1),
        ),
        run=_backbone(_imgs),
        shapes=[(B, 32, 4, 4), (B, 32, 4, 4)],
    ),
    'SimMIMViT': Case(
        cfg=dict(
            type='SimMIMViT',
            arch=TINY_VIT,
            img_size=32,
            patch_size=8,
            mask_generator=SIMMIM_GENERATOR,
        ),
        run=_backbone(_imgs),
        shapes=[(B, 32, 4, 4)],
    ),
    'SimMIMSwin': Case(
        cfg=dict(
            type='SimMIMSwin',
            arch=TINY_SWIN,
            img_size=64,
            window_size=2,
            out_indices=(0, 1, 2, 3),
            mask_generator=dict(SIMMIM_GENERATOR, model_patch_size=4),
        ),
        run=_backbone(lambda: _imgs(64)),
        shapes=[(B, 16, 16, 16), (B, 32, 8, 8), (B, 64, 4, 4), (B, 128, 2, 2)],
    ),
    'VideoMAEViT': Case(
        cfg=dict(
            type='VideoMAEViT', arch=dict(TINY_VIT, num_heads=2), **VIDEO
        ),
        run=_backbone(_videos),
        # int(0.9 * 16) = 14 masked per slot: 2 slots x 2 visible.
        shapes=[(B, 4, 32), (B, L_VIDEO)],
    ),
    'ConvMAEViT': Case(
        cfg=dict(type='ConvMAEViT', arch=TINY_CONV, img_size=64),
        run=_backbone(lambda: _imgs(64)),
        shapes=[(B, 4, 32), (B, 16)],
    ),
    'ConvViT': Case(
        cfg=dict(
            type='ConvViT',
            arch=TINY_CONV,
            img_size=64,
            window_size=2,
            global_attn_indexes=(1,),
        ),
        run=_backbone(lambda: _imgs(64)),
        shapes=[(B, 16, 16, 16), (B, 24, 8, 8), (B, 32, 4, 4), (B, 32, 2, 2)],
    ),
    # Necks (decoders and the detection pyramid).
    'MAEDecoder': Case(
        cfg=dict(
            type='MAEDecoder',
            num_patches=L_IMG,
            patch_size=8,
            embed_dims=32,
            decoder_embed_dims=32,
            decoder_num_layers=1,
            decoder_num_heads=4,
        ),
        run=_decoder((B, 1 + 4, 32), L_IMG, 12),
        shapes=[(B, L_IMG, 8 * 8 * 3)],
    ),
    'ConvMAEDecoder': Case(
        cfg=dict(
            type='ConvMAEDecoder',
            num_patches=L_IMG,
            patch_size=16,
            embed_dims=32,
            decoder_embed_dims=32,
            decoder_num_layers=1,
            decoder_num_heads=4,
        ),
        run=_decoder((B, 4, 32), L_IMG, 12),
        shapes=[(B, L_IMG, 16 * 16 * 3)],
    ),
    'VideoMAEDecoder': Case(
        cfg=dict(
            type='VideoMAEDecoder',
            num_patches=L_VIDEO,
            patch_size=8,
            tubelet_size=2,
            embed_dims=32,
            decoder_embed_dims=16,
            decoder_num_layers=1,
            decoder_num_heads=2,
        ),
        run=_decoder((B, 4, 32), L_VIDEO, 28),
        # The masked tokens only.
        shapes=[(B, 28, 2 * 8 * 8 * 3)],
    ),
    'SimMIMLinearDecoder': Case(
        cfg=dict(type='SimMIMLinearDecoder', in_channels=32, encoder_stride=8),
        run=lambda model: Run(outputs=(model((_randn(B, 32, 4, 4),)),)),
        shapes=[(B, 3, 32, 32)],
    ),
    'SimpleFPN': Case(
        cfg=dict(type='SimpleFPN', in_channels=32, out_channels=16),
        run=lambda model: Run(outputs=tuple(model((_randn(B, 32, 4, 4),)))),
        shapes=[(B, 16, 16 >> i, 16 >> i) for i in range(5)],
    ),
    # Heads: targets and losses, no trainable parameters.
    'PixelReconstructionHead': Case(
        cfg=dict(type='PixelReconstructionHead', patch_size=8, norm_pix=True),
        run=_image_head(8 * 8 * 3),
        shapes=[(B, L_IMG, 8 * 8 * 3), ()],
        check='inputs',
        why='no parameters: the gradient of the predictions is checked',
    ),
    'SimMIMReconstructionHead': Case(
        cfg=dict(type='SimMIMReconstructionHead', patch_size=8),
        run=_image_head(8 * 8 * 3),
        shapes=[(B, L_IMG, 8 * 8 * 3), ()],
        check='inputs',
        why='no parameters: the gradient of the predictions is checked',
    ),
    'TokenReconstructionHead': Case(
        cfg=_tokenizer_head_cfg,
        run=_image_head(16),  # logits over the 16-token vocabulary
        shapes=[(B, L_IMG), ()],
        check='inputs',
        why='only a frozen tokenizer: the gradient of the logits is checked',
    ),
    'VideoReconstructionHead': Case(
        cfg=dict(type='VideoReconstructionHead', patch_size=8, tubelet_size=2),
        run=_video_head,
        shapes=[(B, L_VIDEO, 2 * 8 * 8 * 3), ()],
        check='inputs',
        why='no parameters: the gradient of the predictions is checked',
    ),
    # Algorithms: the full model, `.loss(inputs)`.
    'MAE': Case(
        cfg=dict(
            type='MAE',
            backbone=dict(
                type='MAEViT', arch=TINY_VIT, img_size=32, patch_size=8
            ),
            neck=dict(
                type='MAEDecoder',
                num_patches=L_IMG,
                patch_size=8,
                embed_dims=32,
                decoder_embed_dims=32,
                decoder_num_layers=1,
                decoder_num_heads=4,
            ),
            head=dict(type='PixelReconstructionHead', patch_size=8),
            data_preprocessor=dict(type='BaseDataPreprocessor'),
        ),
        run=_algorithm(_imgs),
        shapes=[()],
    ),
    'SimMIM': Case(
        cfg=dict(
            type='SimMIM',
            backbone=dict(
                type='SimMIMViT',
                arch=TINY_VIT,
                img_size=32,
                patch_size=8,
                mask_generator=SIMMIM_GENERATOR,
            ),
            neck=dict(
                type='SimMIMLinearDecoder', in_channels=32, encoder_stride=8
            ),
            head=dict(type='SimMIMReconstructionHead', patch_size=8),
            data_preprocessor=dict(type='BaseDataPreprocessor'),
        ),
        run=_algorithm(_imgs),
        shapes=[()],
    ),
    'ConvMAE': Case(
        cfg=dict(
            type='ConvMAE',
            backbone=dict(type='ConvMAEViT', arch=TINY_CONV, img_size=64),
            neck=dict(
                type='ConvMAEDecoder',
                num_patches=L_IMG,
                patch_size=16,
                embed_dims=32,
                decoder_embed_dims=32,
                decoder_num_layers=1,
                decoder_num_heads=4,
            ),
            head=dict(type='PixelReconstructionHead', patch_size=16),
            data_preprocessor=dict(type='BaseDataPreprocessor'),
        ),
        run=_algorithm(lambda: _imgs(64)),
        shapes=[()],
    ),
    'VideoMAE': Case(
        cfg=dict(
            type='VideoMAE',
            backbone=dict(
                type='VideoMAEViT', arch=dict(TINY_VIT, num_heads=2), **VIDEO
            ),
            neck=dict(
                type='VideoMAEDecoder',
                num_patches=L_VIDEO,
                patch_size=8,
                tubelet_size=2,
                embed_dims=32,
                decoder_embed_dims=16,
                decoder_num_layers=1,
                decoder_num_heads=2,
            ),
            head=dict(type='VideoReconstructionHead', patch_size=8),
        ),
        run=_algorithm(_videos),
        shapes=[()],
    ),
    # Classifiers.
    'VideoClassifier': Case(
        cfg=dict(
            type='mmmim.VideoClassifier',
            # The head's default loss is unprefixed (as the configs).
            _scope_='mmpretrain',
            backbone=dict(
                type='mmmim.VideoMAEViT',
                arch=dict(TINY_VIT, num_heads=2),
                **VIDEO,
                mask_generator=None,
                out_type='avg_featmap',
                final_norm=False,
            ),
            head=dict(
                type='mmpretrain.LinearClsHead', num_classes=5, in_channels=32
            ),
        ),
        run=_video_classifier,
        shapes=[(B, 5), ()],
    ),
    # Data preprocessors.
    'JpegDecodeDataPreprocessor': Case(
        cfg=dict(
            type='JpegDecodeDataPreprocessor',
            mean=[10.0, 20.0, 30.0],
            std=[2.0, 4.0, 8.0],
            to_rgb=True,
        ),
        run=_jpeg_preprocessor,
        shapes=[(B, 3, 8, 8)],
        check='values',
        why='decode and normalisation only: outputs compared with the '
        'decoded files, (x - m) / s',
    ),
    'VideoDataPreprocessor': Case(
        cfg=dict(
            type='VideoDataPreprocessor',
            mean=[10.0, 20.0, 30.0],
            std=[2.0, 4.0, 8.0],
        ),
        run=_video_preprocessor,
        # Two samples of two views each, stacked: [B * V, C, T, H, W].
        shapes=[(2 * B, 3, 4, 8, 8)],
        check='values',
        why='normalisation buffers only: outputs compared with (x - m) / s',
    ),
}


def _mmmim_names(registry) -> list:
    """Names registered by the mmmim package (not by tests)."""
    return sorted(
        name
        for name, cls in registry.module_dict.items()
        if (inspect.getmodule(cls).__name__ + '.').startswith('mmmim.')
    )


REGISTERED = _mmmim_names(MODELS)


def _build(case: Case, tmp_path: Path) -> nn.Module:
    cfg = case.cfg(tmp_path) if callable(case.cfg) else copy.deepcopy(case.cfg)
    model = MODELS.build(cfg)
    if hasattr(model, 'init_weights'):
        model.init_weights()
    model.train()  # (mmpretrain's Swin.train returns None)
    return model


def _projection(outputs: Sequence[torch.Tensor]) -> torch.Tensor:
    """A fixed random projection of the float outputs to a scalar."""
    gen = torch.Generator().manual_seed(1)
    total = 0
    for out in outputs:
        if out.is_floating_point():
            total = total + (out * torch.randn(out.shape, generator=gen)).sum()
    return total


def test_registry_is_enumerated():
    # The enumeration itself: the four methods and a part of every kind.
    for name in (
        'MAE',
        'SimMIM',
        'ConvMAE',
        'VideoMAE',
        'MAEViT',
        'MAEDecoder',
        'PixelReconstructionHead',
        'VideoClassifier',
        'VideoDataPreprocessor',
        'SimpleFPN',
    ):
        assert name in REGISTERED
    stale = sorted(set(COMPONENTS) - set(REGISTERED))
    assert not stale, f'tiny configs of unregistered components: {stale}'


@pytest.mark.parametrize('name', REGISTERED)
def test_component_forward_backward(name, tmp_path):
    if name not in COMPONENTS:
        pytest.fail(
            f'{name} is registered in mmmim.registry.MODELS but has no tiny '
            f'config: add one to COMPONENTS in {Path(__file__).name}'
        )
    case = COMPONENTS[name]
    torch.manual_seed(0)
    model = _build(case, tmp_path)
    run = case.run(model)

    shapes = [tuple(out.shape) for out in run.outputs]
    assert shapes == [tuple(s) for s in case.shapes]
    for out in run.outputs:
        if out.is_floating_point():
            assert torch.isfinite(out).all(), f'{name}: non-finite output'

    if case.check == 'values':
        assert case.why
        assert not any(p.requires_grad for p in model.parameters())
        for out, expected in zip(run.outputs, run.expected, strict=True):
            torch.testing.assert_close(out, expected)
        return

    loss = run.loss if run.loss is not None else _projection(run.outputs)
    assert loss.dim() == 0 and torch.isfinite(loss)
    model.zero_grad()
    loss.backward()

    if case.check == 'inputs':
        assert case.why
        assert not any(p.requires_grad for p in model.parameters())
        for leaf in run.inputs:
            assert leaf.grad is not None, f'{name}: no gradient'
            assert torch.isfinite(leaf.grad).all()
            per_row = leaf.grad.abs().flatten(2).sum(-1)
            if run.masked is None:  # every row is a masked token
                assert (per_row > 0).all()
            else:
                assert (per_row[run.masked] > 0).all()
                assert (per_row[~run.masked] == 0).all()
        return

    assert case.check == 'params'
    unused = case.unused
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert trainable, f'{name} has no trainable parameter'
    missing = sorted(
        n
        for n, p in trainable.items()
        if p.grad is None and not n.startswith(tuple(unused))
    )
    assert not missing, f'{name}: parameters without a gradient: {missing}'
    grads = {n: p.grad for n, p in trainable.items() if p.grad is not None}
    assert grads, f'{name}: no parameter received a gradient'
    bad = sorted(n for n, g in grads.items() if not torch.isfinite(g).all())
    assert not bad, f'{name}: non-finite gradients in {bad}'
    zero = sorted(n for n, g in grads.items() if not g.abs().sum() > 0)
    assert not zero, f'{name}: all-zero gradients in {zero}'


# --- mask generators (TASK_UTILS) -----------------------------------------

#: name -> (config, grid, masked tokens per sample worked out by hand;
#: None only for a generator without ``num_masked``).
MASK_GENERATORS: Dict[str, Tuple[dict, tuple, Optional[int]]] = {
    # 24 tokens, int(24 * 0.25) = 6 visible.
    'RandomMaskGenerator': (dict(mask_ratio=0.75), (4, 6), 18),
    # 36 tokens, int(36 * 0.5) = 18 visible; blocks topped up to 18.
    'BlockMaskGenerator': (
        dict(mask_ratio=0.5, min_num_patches=4),
        (6, 6),
        18,
    ),
    # Keeps one token per 2 x 2 cell: 24 - 2 * 3.
    'GridMaskGenerator': (dict(cell_size=2), (4, 6), 18),
    # 2 x 3 cells of 2 x 2 tokens, ceil(6 * 0.6) = 4 cells masked.
    'SimMIMMaskGenerator': (
        dict(mask_ratio=0.6, mask_patch_size=16, model_patch_size=8),
        (4, 6),
        16,
    ),
    # int(0.75 * 16) = 12 per slot, 2 slots.
    'TubeMaskGenerator': (dict(mask_ratio=0.75), (2, 4, 4), 24),
}

MASK_GENERATOR_NAMES = _mmmim_names(TASK_UTILS)


def test_mask_generator_table_is_current():
    assert 'RandomMaskGenerator' in MASK_GENERATOR_NAMES
    stale = sorted(set(MASK_GENERATORS) - set(MASK_GENERATOR_NAMES))
    assert not stale, f'tiny configs of unregistered generators: {stale}'


@pytest.mark.parametrize('name', MASK_GENERATOR_NAMES)
def test_mask_generator(name):
    if name not in MASK_GENERATORS:
        pytest.fail(
            f'{name} is registered in mmmim.registry.TASK_UTILS but has no '
            f'tiny config: add one to MASK_GENERATORS in '
            f'{Path(__file__).name}'
        )
    cfg, grid, count = MASK_GENERATORS[name]
    generator = TASK_UTILS.build(dict(type=name, **cfg))
    num_tokens = 1
    for size in grid:
        num_tokens *= size
    torch.manual_seed(0)
    masks = generator(8, grid)
    assert masks.shape == (8, num_tokens)
    assert masks.dtype == torch.bool
    # A generator that promises a count (num_masked) keeps it exactly.
    assert (count is not None) == hasattr(generator, 'num_masked'), (
        f'{name}: give the masked count of MASK_GENERATORS iff the '
        'generator has num_masked'
    )
    if count is not None:
        assert generator.num_masked(grid) == count
        assert masks.sum(1).tolist() == [count] * 8
    # Reproducible from the global seed, and (unless the pattern is fixed
    # by design) not one mask repeated over the batch.
    torch.manual_seed(0)
    assert torch.equal(generator(8, grid), masks)
    distinct = len({tuple(row.tolist()) for row in masks})
    if name == 'GridMaskGenerator':
        assert distinct == 1
    else:
        assert distinct > 1
