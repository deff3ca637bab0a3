# Copyright (c) mmmim contributors. All rights reserved.
"""The VideoMAE data pipeline on the real demo clips, and its policy for
corrupt, truncated and too-short videos."""

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmmim.registry import DATASETS, TRANSFORMS
from mmmim.utils import register_all_modules

REPO = Path(__file__).resolve().parents[2]
DEMO_DATASET = REPO / 'configs' / '_base_' / 'datasets' / 'demo_video_64px.py'

register_all_modules(init_default_scope=False)


def _build(cfg):
    with DefaultScope.overwrite_default_scope('mmmim'):
        return TRANSFORMS.build(cfg)


def _sample_and_decode(path, on_error='raise', min_frames=0, clip_len=8):
    results = dict(filename=str(path), start_index=0, modality='RGB')
    steps = [
        dict(type='PyAVInitOrSkip', on_error=on_error, min_frames=min_frames),
        dict(
            type='mmaction.SampleFrames',
            clip_len=clip_len,
            frame_interval=1,
            num_clips=1,
            test_mode=True,
        ),
        dict(type='PyAVDecodeOrSkip', on_error=on_error),
    ]
    for step in steps:
        results = _build(step)(results)
        if results is None:
            return None
    return results


def _write_clip(path, num_frames, faststart=False):
    options = {'movflags': 'faststart'} if faststart else {}
    with av.open(str(path), mode='w', options=options) as container:
        stream = container.add_stream('libx264', rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 64, 48, 'yuv420p'
        rng = np.random.default_rng(0)
        for _ in range(num_frames):
            array = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(array, format='rgb24')
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _pipeline_dataset(root: Path, ann_file: str = 'train.txt'):
    cfg = Config.fromfile(str(DEMO_DATASET))
    dataset = dict(
        cfg.train_dataloader.dataset,
        ann_file=str(root / ann_file),
        data_prefix=dict(video=str(root / 'videos')),
    )
    with DefaultScope.overwrite_default_scope('mmmim'):
        return DATASETS.build(dataset)


def test_demo_clips_give_tube_masked_ncthw_inputs(demo_video_root):
    dataset = _pipeline_dataset(demo_video_root)
    assert len(dataset) == 11
    sample = dataset[0]
    assert tuple(sample['inputs'].shape) == (1, 3, 8, 64, 64)
    assert str(sample['inputs'].dtype) == 'torch.uint8'
    mask = np.asarray(sample['data_samples'].mask).reshape(4, 64)
    # Tube mask 0.9 on the 4 x 8 x 8 grid: int(0.9 * 64) = 57 per slot.
    assert (mask == mask[:1]).all() and mask[0].sum() == 57
    assert sample['data_samples'].gt_label.item() in (0, 1, 2)


def test_decoded_frames_are_the_sampled_frames(demo_video_root):
    path = demo_video_root / 'videos' / 'bikes_0.mp4'
    results = _sample_and_decode(path, clip_len=4)
    with av.open(str(path)) as container:
        reference = [
            frame.to_rgb().to_ndarray() for frame in container.decode(video=0)
        ]
    assert results['total_frames'] == len(reference) == 32
    for index, frame in zip(results['frame_inds'], results['imgs']):
        assert np.array_equal(frame, reference[index])
    assert 'video_reader' not in results  # the container was closed


def test_truncated_video_raises_or_skips(tmp_path, caplog):
    path = tmp_path / 'truncated.mp4'
    _write_clip(path, 32, faststart=True)  # header first: claims 32 frames
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(
        ValueError, match=r'truncated.mp4.*(ends after|decoding failed)'
    ):
        _sample_and_decode(path, clip_len=32)
    with caplog.at_level(logging.WARNING):
        assert _sample_and_decode(path, on_error='skip', clip_len=32) is None


@pytest.mark.parametrize('content', [b'', b'not a video at all' * 100])
def test_corrupt_video_raises_or_skips(tmp_path, content):
    path = tmp_path / 'corrupt.mp4'
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r'corrupt.mp4.*does not open'):
        _sample_and_decode(path)
    assert _sample_and_decode(path, on_error='skip') is None


def test_too_short_video_follows_min_frames(tmp_path):
    path = tmp_path / 'short.mp4'
    _write_clip(path, 10)
    with pytest.raises(ValueError, match='10 frames, fewer than the 16'):
        _sample_and_decode(path, min_frames=16)
    assert _sample_and_decode(path, on_error='skip', min_frames=16) is None
    # Without a minimum, SampleFrames loops the short video (mmaction2's
    # documented behaviour) and decoding succeeds.
    assert len(_sample_and_decode(path, clip_len=16)['imgs']) == 16


def test_dataset_skips_a_corrupt_video(demo_video_root, tmp_path):
    videos = tmp_path / 'videos'
    videos.mkdir()
    (videos / 'broken.mp4').write_bytes(b'garbage')
    good = demo_video_root / 'videos' / 'bikes_0.mp4'
    (videos / 'good.mp4').write_bytes(good.read_bytes())
    (tmp_path / 'train.txt').write_text('broken.mp4 0\ngood.mp4 1\n')
    cfg = Config.fromfile(str(DEMO_DATASET))
    pipeline = cfg.train_dataloader.dataset.pipeline
    pipeline[0]['on_error'] = 'skip'
    with DefaultScope.overwrite_default_scope('mmmim'):
        dataset = DATASETS.build(
            dict(
                type='mmaction.VideoDataset',
                ann_file=str(tmp_path / 'train.txt'),
                data_prefix=dict(video=str(videos)),
                pipeline=pipeline,
            )
        )
    # The broken sample is replaced by a readable one (the good video).
    assert dataset[0]['data_samples'].gt_label.item() == 1


def test_repeat_augment_stacks_independent_views(demo_video_root):
    results = _sample_and_decode(
        demo_video_root / 'videos' / 'bikes_1.mp4', clip_len=4
    )
    augment = _build(
        dict(
            type='RepeatAugment',
            num_repeats=2,
            transforms=[
                dict(type='mmaction.RandomResizedCrop'),
                dict(type='mmaction.Resize', scale=(32, 32), keep_ratio=False),
                dict(type='mmaction.Flip', flip_ratio=0.5),
                dict(type='mmaction.FormatShape', input_format='NCTHW'),
            ],
        )
    )
    first = [frame.copy() for frame in results['imgs']]
    out = augment(results)
    assert out['imgs'].shape == (2, 3, 4, 32, 32)
    assert not np.array_equal(out['imgs'][0], out['imgs'][1])
    # The decoded frames are left untouched (in-place flips on views).
    assert all(np.array_equal(a, b) for a, b in zip(first, results['imgs']))
    with pytest.raises(ValueError, match='NCTHW'):
        _build(
            dict(
                type='RepeatAugment',
                transforms=[dict(type='mmaction.CenterCrop', crop_size=16)],
            )
        )(results)
