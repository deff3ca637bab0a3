# Copyright (c) mmmim contributors. All rights reserved.
"""PyAV video opening and decoding with an explicit policy for corrupt,
truncated and too-short videos.

They replace mmaction2's ``PyAVInit`` / ``PyAVDecode`` in the same place
of a pipeline (around mmaction2's ``SampleFrames``). mmaction2's decoder
wraps frame indices modulo the frames it managed to decode, so a truncated
file silently yields repeated frames, and an empty one a
``ZeroDivisionError``. Here every such case follows ``on_error``:

- ``'raise'``: a ``ValueError`` naming the file, the problem and the fix;
- ``'skip'``: a warning, then ``None``, on which mmengine's
  ``BaseDataset`` fetches another sample (up to its ``max_refetch``).
"""

from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import MMLogger

from mmmim.registry import TRANSFORMS

__all__ = ['PyAVInitOrSkip', 'PyAVDecodeOrSkip']

_POLICIES = ('raise', 'skip')
_SHORT_CLIP_POLICIES = ('warn', 'loop', 'error')
#: Files already warned about as looped in this process.
_WARNED_SHORT: set = set()


def _check_policy(on_error: str) -> str:
    if on_error not in _POLICIES:
        raise ValueError(
            f"on_error must be 'raise' or 'skip', got {on_error!r}."
        )
    return on_error


def _fail(results: dict, on_error: str, problem: str, transform: str) -> None:
    """Warn and return None (skip), or raise a ValueError."""
    path = results.get('filename')
    if on_error == 'skip':
        MMLogger.get_current_instance().warning(
            f'Skipped video {path}: {problem}.'
        )
        return None
    raise ValueError(
        f'Cannot use video {path}: {problem}. Remove or re-encode the '
        f"file, or set on_error='skip' in {transform} to skip such videos "
        'with a warning.'
    )


def _close(results: dict) -> None:
    container = results.pop('video_reader', None)
    if container is not None:
        container.close()


@TRANSFORMS.register_module()
class PyAVInitOrSkip(BaseTransform):
    """Open a video with PyAV and read its frame count.

    Required Keys:

    - filename

    Added Keys:

    - video_reader (av.container.InputContainer)
    - total_frames (int)

    Args:
        min_frames (int): Videos with fewer frames are too short for the
            clip and follow ``on_error`` (0: no minimum). Set it to
            ``clip_len * frame_interval`` to refuse the looping that
            ``SampleFrames`` otherwise does on short videos.
            Defaults to 0.
        on_error (str): ``'raise'`` or ``'skip'``. Defaults to 'raise'.
    """

    def __init__(self, min_frames: int = 0, on_error: str = 'raise') -> None:
        self.min_frames = min_frames
        self.on_error = _check_policy(on_error)

    def transform(self, results: dict) -> Optional[dict]:
        """Open ``results['filename']``.

        Args:
            results (dict): The pipeline results.

        Returns:
            dict | None: ``results`` with the reader and frame count, or
            None when the video is skipped.
        """
        import av

        path = results['filename']
        try:
            container = av.open(path)
        except Exception as error:  # missing, unreadable or not a video
            return _fail(
                results,
                self.on_error,
                f'it does not open ({type(error).__name__}: {error})',
                'PyAVInitOrSkip',
            )
        if not container.streams.video:
            container.close()
            return _fail(
                results,
                self.on_error,
                'it has no video stream',
                'PyAVInitOrSkip',
            )
        total = container.streams.video[0].frames
        if total <= 0:
            # Some containers (Matroska/WebM) carry no frame count: count
            # the video packets, then reopen at the start.
            total = sum(
                1 for packet in container.demux(video=0) if packet.size
            )
            container.close()
            container = av.open(path)
        if total <= 0 or total < self.min_frames:
            container.close()
            return _fail(
                results,
                self.on_error,
                f'it has {total} frames, fewer than the {self.min_frames} '
                'a clip needs'
                if total > 0
                else 'its header reports no frames',
                'PyAVInitOrSkip',
            )
        results['video_reader'] = container
        results['total_frames'] = total
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(min_frames={self.min_frames}, '
            f'on_error={self.on_error!r})'
        )


@TRANSFORMS.register_module()
class PyAVDecodeOrSkip(BaseTransform):
    """Decode the sampled frames exactly (frame-index, not time, access).

    Frames are decoded in order up to the largest index needed; a video
    that ends early (truncated or with a wrong header) or fails to decode
    follows ``on_error`` instead of repeating frames. The container is
    closed afterwards.

    Required Keys:

    - video_reader
    - frame_inds

    Added Keys:

    - imgs (List[np.ndarray]): RGB frames ``[H, W, 3]`` uint8.
    - img_shape, original_shape (Tuple[int, int])

    A video shorter than the clip that ``SampleFrames`` draws from it
    (``clip_len`` frames every ``frame_interval``: a 5-frame video for
    8 x 2 frames) is looped by ``SampleFrames`` (frame indices modulo the
    frame count), as in mmaction2. ``short_clip`` decides what happens:

    - ``'warn'``: keep the looped clip and log a warning naming the file,
      its frame count and the frames needed (once per file and process);
    - ``'loop'``: keep it silently (mmaction2's behaviour);
    - ``'error'``: treat it as a bad video, following ``on_error``
      (raise, or skip to another video).

    Args:
        on_error (str): ``'raise'`` or ``'skip'``. Defaults to 'raise'.
        multi_thread (bool): Let PyAV decode with threads.
            Defaults to False.
        short_clip (str): ``'warn'``, ``'loop'`` or ``'error'``.
            Defaults to 'warn'.
    """

    def __init__(
        self,
        on_error: str = 'raise',
        multi_thread: bool = False,
        short_clip: str = 'warn',
    ) -> None:
        self.on_error = _check_policy(on_error)
        self.multi_thread = multi_thread
        if short_clip not in _SHORT_CLIP_POLICIES:
            raise ValueError(
                f'short_clip must be one of {_SHORT_CLIP_POLICIES}, got '
                f'{short_clip!r}.'
            )
        self.short_clip = short_clip

    def _looped(self, results: dict) -> Optional[str]:
        """Why the sampled clip loops the video, or None if it does not
        (or ``short_clip='loop'``); warns under ``short_clip='warn'``."""
        total = results.get('total_frames')
        clip_len = results.get('clip_len')
        interval = results.get('frame_interval')
        if None in (total, clip_len, interval) or self.short_clip == 'loop':
            return None
        needed = (clip_len - 1) * interval + 1
        if total >= needed:
            return None
        problem = (
            f'it has {total} frames, fewer than the {needed} that '
            f'{clip_len} frames every {interval} span, so SampleFrames '
            'loops it'
        )
        path = results.get('filename')
        if self.short_clip == 'warn' and path not in _WARNED_SHORT:
            _WARNED_SHORT.add(path)
            MMLogger.get_current_instance().warning(
                f"Video {path}: {problem}. Set short_clip='error' in "
                'PyAVDecodeOrSkip to refuse such clips (on_error decides '
                "between an error and skipping), or short_clip='loop' to "
                'silence this.'
            )
        return problem

    def transform(self, results: dict) -> Optional[dict]:
        """Decode ``results['frame_inds']``.

        Args:
            results (dict): The pipeline results.

        Returns:
            dict | None: ``results`` with ``imgs``, or None when the video
            is skipped.
        """
        looped = self._looped(results)
        if looped is not None and self.short_clip == 'error':
            _close(results)
            return _fail(
                results,
                self.on_error,
                f"{looped} (short_clip='error')",
                'PyAVDecodeOrSkip',
            )
        container = results['video_reader']
        frame_inds = np.asarray(results['frame_inds']).reshape(-1)
        needed = int(frame_inds.max()) + 1
        stream = container.streams.video[0]
        if self.multi_thread:
            stream.thread_type = 'AUTO'
        frames = []
        try:
            for frame in container.decode(stream):
                frames.append(frame.to_rgb().to_ndarray())
                if len(frames) >= needed:
                    break
        except Exception as error:  # corrupt packets
            _close(results)
            return _fail(
                results,
                self.on_error,
                f'decoding failed after {len(frames)} frames '
                f'({type(error).__name__}: {error})',
                'PyAVDecodeOrSkip',
            )
        _close(results)
        if len(frames) < needed:
            return _fail(
                results,
                self.on_error,
                f'it ends after {len(frames)} decodable frames but frame '
                f'{needed - 1} was sampled (truncated file or wrong frame '
                'count in the header)',
                'PyAVDecodeOrSkip',
            )
        results['imgs'] = [frames[i] for i in frame_inds]
        results['original_shape'] = results['imgs'][0].shape[:2]
        results['img_shape'] = results['original_shape']
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(on_error={self.on_error!r}, '
            f'multi_thread={self.multi_thread}, '
            f'short_clip={self.short_clip!r})'
        )
