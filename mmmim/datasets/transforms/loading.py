# Copyright (c) mmmim contributors. All rights reserved.
"""Image loading with an explicit policy for unreadable files."""

from typing import Optional

from mmcv.transforms import LoadImageFromFile
from mmengine.logging import MMLogger

from mmmim.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImageOrSkip(LoadImageFromFile):
    """``LoadImageFromFile`` that handles unreadable and corrupt images by
    policy.

    mmcv's transform raises a bare ``AssertionError`` for bytes that do not
    decode, and its ``ignore_empty`` only covers files that cannot be read.
    Here both cases follow ``on_error``:

    - ``'raise'``: a ``ValueError`` naming the file and the fix;
    - ``'skip'``: a warning, then ``None``, on which mmengine's
      ``BaseDataset`` fetches another sample (up to its ``max_refetch``).

    Grayscale and RGBA files are decoded to 3-channel images
    (``color_type='color'``, the default), as every MIM pipeline expects.

    Args:
        on_error (str): ``'raise'`` or ``'skip'``. Defaults to 'raise'.
        **kwargs: Arguments of ``mmcv.transforms.LoadImageFromFile``.
    """

    def __init__(self, on_error: str = 'raise', **kwargs) -> None:
        if on_error not in ('raise', 'skip'):
            raise ValueError(
                f"on_error must be 'raise' or 'skip', got {on_error!r}."
            )
        kwargs.pop('ignore_empty', None)
        super().__init__(ignore_empty=False, **kwargs)
        self.on_error = on_error

    def transform(self, results: dict) -> Optional[dict]:
        path = results.get('img_path')
        try:
            return super().transform(results)
        except Exception as error:  # unreadable file or undecodable bytes
            reason = f'{type(error).__name__}: {error}'
        if self.on_error == 'skip':
            MMLogger.get_current_instance().warning(
                f'Skipped unreadable image {path} ({reason}).'
            )
            return None
        raise ValueError(
            f'Cannot read image {path} ({reason}). Remove or replace the '
            "file, or set on_error='skip' in the LoadImageOrSkip "
            'transform to skip unreadable images with a warning.'
        )
