# Copyright (c) mmmim contributors. All rights reserved.
"""Bad input battery: each case fails with an error that names the problem
(or is recovered from in a documented way), never with an unrelated
traceback or silently wrong data."""

import importlib.util
import os

import numpy as np
import pytest
import torch
from PIL import Image

from mmmim.utils import register_all_modules

# Register without changing the default scope of later tests.
register_all_modules(init_default_scope=False)

from mmmim.registry import DATASETS, MODELS, TASK_UTILS, TRANSFORMS  # noqa

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_ARCH = dict(
    embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64
)


def tiny_mae(**backbone):
    return MODELS.build(
        dict(
            type='MAE',
            backbone=dict(
                type='MAEViT',
                arch=TINY_ARCH,
                img_size=32,
                patch_size=8,
                **backbone,
            ),
            neck=dict(
                type='MAEDecoder',
                num_patches=16,
                patch_size=8,
                embed_dims=32,
                decoder_embed_dims=32,
                decoder_num_layers=1,
                decoder_num_heads=2,
            ),
            head=dict(type='PixelReconstructionHead', patch_size=8),
        )
    )


# --------------------------------------------------------------- models
@pytest.mark.parametrize('ratio', [0, 1, -0.1, 1.5, 0.0, 1.0])
@pytest.mark.parametrize(
    'generator', ['RandomMaskGenerator', 'BlockMaskGenerator']
)
def test_mask_ratio_outside_open_interval(generator, ratio):
    with pytest.raises(ValueError, match=r'mask_ratio.*\(0, 1\)'):
        TASK_UTILS.build(dict(type=generator, mask_ratio=ratio))


def test_image_size_not_divisible_by_patch_size():
    with pytest.raises(ValueError, match='not divisible by the patch size 8'):
        tiny_mae().reconstruct(torch.rand(1, 3, 30, 30))


@pytest.mark.parametrize(
    'mask, message',
    [
        (torch.zeros(2, 16, dtype=torch.float32), 'bool'),
        (torch.zeros(2, 15, dtype=torch.bool), '16'),
        (torch.zeros(3, 16, dtype=torch.bool), 'batch'),
    ],
)
def test_mask_of_wrong_dtype_or_shape(mask, message):
    with pytest.raises(ValueError, match=message):
        tiny_mae().reconstruct(torch.rand(2, 3, 32, 32), mask)


def test_mask_with_unequal_counts_where_tokens_are_dropped():
    mask = torch.zeros(2, 16, dtype=torch.bool)
    mask[0, :12] = True
    mask[1, :10] = True
    with pytest.raises(ValueError, match='same number'):
        tiny_mae().reconstruct(torch.rand(2, 3, 32, 32), mask)


def test_unknown_arch_lists_the_valid_ones():
    with pytest.raises((KeyError, ValueError), match="'b'"):
        MODELS.build(dict(type='MAEViT', arch='xl'))


def test_unknown_mask_generator_names_it():
    with pytest.raises(KeyError, match='RandomMaskGeneratr'):
        tiny_mae(mask_generator=dict(type='RandomMaskGeneratr'))


def test_config_key_typo_names_the_key():
    with pytest.raises(TypeError, match="'archh'"):
        MODELS.build(dict(type='MAEViT', archh='b'))


# ----------------------------------------------------------------- data
def test_missing_data_root_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope'):
        DATASETS.build(
            dict(
                type='mmpretrain.CustomDataset',
                data_root=str(tmp_path / 'nope'),
                with_label=False,
                pipeline=[],
            )
        )


def test_empty_dataset_says_so(tmp_path):
    with pytest.raises(RuntimeError, match='Found 0 files'):
        DATASETS.build(
            dict(
                type='mmpretrain.CustomDataset',
                data_root=str(tmp_path),
                with_label=False,
                pipeline=[],
            )
        )


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / 'imgs' / 'a'
    folder.mkdir(parents=True)
    Image.fromarray(np.full((40, 48, 3), 200, np.uint8)).save(
        folder / 'good.jpg'
    )
    (folder / 'corrupt.jpg').write_bytes(b'\xff\xd8\xff not a jpeg')
    Image.fromarray(np.full((40, 48), 90, np.uint8)).save(folder / 'g.png')
    Image.fromarray(np.full((40, 48, 4), 90, np.uint8)).save(
        folder / 'rgba.png'
    )
    return tmp_path / 'imgs'


def test_corrupt_image_fails_with_its_path(image_folder):
    load = TRANSFORMS.build(dict(type='LoadImageOrSkip'))
    with pytest.raises(ValueError, match="corrupt.jpg.*on_error='skip'"):
        load(dict(img_path=str(image_folder / 'a' / 'corrupt.jpg')))


def test_corrupt_image_skipped_when_configured(image_folder):
    """``on_error='skip'``: the dataset refetches another sample."""
    dataset = DATASETS.build(
        dict(
            type='mmpretrain.CustomDataset',
            data_root=str(image_folder),
            with_label=False,
            pipeline=[dict(type='mmmim.LoadImageOrSkip', on_error='skip')],
        )
    )
    names = [
        os.path.basename(dataset[i]['img_path']) for i in range(len(dataset))
    ]
    assert 'corrupt.jpg' not in names and len(names) == 4


@pytest.mark.parametrize('name', ['g.png', 'rgba.png'])
def test_grayscale_and_rgba_become_three_channels(image_folder, name):
    load = TRANSFORMS.build(dict(type='LoadImageOrSkip'))
    img = load(dict(img_path=str(image_folder / 'a' / name)))['img']
    assert img.shape == (40, 48, 3)
    assert img.dtype == np.uint8


# ---------------------------------------------------------- checkpoints
def _mae_converter():
    path = os.path.join(REPO, 'tools', 'model_converters', 'mae_to_mmmim.py')
    spec = importlib.util.spec_from_file_location('mae_to_mmmim', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    'keys, message',
    [
        (['patch_embed1.proj.weight', 'blocks1.0.conv1.weight'], 'ConvMAE'),
        (['encoder.patch_embed.proj.weight'], 'VideoMAE'),
        (
            [
                'patch_embed.proj.weight',
                'blocks.0.attn.qkv.weight',
                'head.weight',
            ],
            'fine-tuned',
        ),
        (['some.other.weight'], 'not an MAE ViT checkpoint'),
    ],
)
def test_converter_rejects_other_methods(keys, message):
    state_dict = {k: torch.zeros(1) for k in keys}
    with pytest.raises(ValueError, match=message):
        _mae_converter().convert(state_dict, 'ckpt.pth')


def test_converter_names_unknown_keys():
    state_dict = {
        'patch_embed.proj.weight': torch.zeros(8, 3, 4, 4),
        'blocks.0.attn.qkv.weight': torch.zeros(24, 8),
        'blocks.0.mlp.fc1.weight': torch.zeros(32, 8),
        'pos_embed': torch.zeros(1, 5, 8),
        'mystery.weight': torch.zeros(1),
    }
    with pytest.raises(KeyError, match='mystery.weight'):
        _mae_converter().convert(state_dict, 'ckpt.pth')


class _Payload:
    """An arbitrary class pickled into a checkpoint."""


def test_converter_refuses_pickled_code_without_trust(tmp_path):
    src = tmp_path / 'official.pth'
    torch.save({'model': {}, 'extra': _Payload()}, src)
    with pytest.raises(Exception, match='MMMIM_TRUST_CHECKPOINTS'):
        _mae_converter().main([str(src), str(tmp_path / 'out.pth')])


def test_checkpoint_of_another_size_is_an_error(tmp_path):
    small, large = (
        tiny_mae(),
        MODELS.build(
            dict(
                type='MAEViT',
                arch=dict(
                    embed_dims=64,
                    num_layers=1,
                    num_heads=2,
                    feedforward_channels=64,
                ),
                img_size=32,
                patch_size=8,
            )
        ),
    )
    path = tmp_path / 'large.pth'
    torch.save(
        {
            'state_dict': {
                f'backbone.{k}': v for k, v in large.state_dict().items()
            }
        },
        path,
    )
    backbone = MODELS.build(
        dict(
            type='MAEViT',
            arch=TINY_ARCH,
            img_size=32,
            patch_size=8,
            init_cfg=dict(
                type='Pretrained', checkpoint=str(path), prefix='backbone.'
            ),
        )
    )
    with pytest.raises(Exception, match='size|shape'):
        backbone.init_weights()
    del small


# Videos (VideoMAE): the same policy as images.


def _video_steps(path, on_error='raise', min_frames=0):
    results = dict(filename=str(path), start_index=0, modality='RGB')
    for step in (
        dict(type='PyAVInitOrSkip', on_error=on_error, min_frames=min_frames),
        dict(type='mmaction.SampleFrames', clip_len=16, test_mode=True),
        dict(type='PyAVDecodeOrSkip', on_error=on_error),
    ):
        results = TRANSFORMS.build(step)(results)
        if results is None:
            return None
    return results


def _write_video(path, frames, faststart=False):
    import av

    options = {'movflags': 'faststart'} if faststart else {}
    with av.open(str(path), mode='w', options=options) as container:
        stream = container.add_stream('libx264', rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, 'yuv420p'
        rng = np.random.default_rng(0)
        for _ in range(frames):
            frame = av.VideoFrame.from_ndarray(
                rng.integers(0, 255, (32, 32, 3), dtype=np.uint8),
                format='rgb24',
            )
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.mark.parametrize(
    'kind, message',
    [
        ('corrupt', 'does not open'),
        ('truncated', 'ends after|decoding failed'),
        ('too_short', 'fewer than the 16'),
    ],
)
def test_bad_videos_name_the_file_or_are_skipped(tmp_path, kind, message):
    path = tmp_path / f'{kind}.mp4'
    min_frames = 0
    if kind == 'corrupt':
        path.write_bytes(b'\x00\x00\x00\x18ftypmp42 broken')
    elif kind == 'truncated':
        _write_video(path, 48, faststart=True)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    else:
        _write_video(path, 8)
        min_frames = 16
    with pytest.raises(ValueError, match=f'{kind}.mp4.*({message})'):
        _video_steps(path, min_frames=min_frames)
    assert _video_steps(path, 'skip', min_frames) is None


def test_images_given_to_a_video_model_and_image_grids_to_tube_masks():
    backbone = MODELS.build(
        dict(
            type='VideoMAEViT',
            arch=TINY_ARCH,
            img_size=32,
            num_frames=4,
            patch_size=8,
        )
    )
    with pytest.raises(ValueError, match=r'\[B, C, T, H, W\]'):
        backbone(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match=r'\(t, h, w\)'):
        TASK_UTILS.build(dict(type='TubeMaskGenerator'))(1, (14, 14))


def test_masks_on_only_some_samples_are_an_error():
    from mmengine.structures import BaseDataElement

    model = tiny_mae()
    samples = [BaseDataElement(), BaseDataElement()]
    samples[0].mask = np.zeros(16, dtype=bool)
    with pytest.raises(ValueError, match='1 of 2 data samples have no'):
        model(torch.zeros(2, 3, 32, 32), samples, mode='loss')
