# Copyright (c) mmmim contributors. All rights reserved.
"""Pack a formatted clip, its label and its mask for the model."""

from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.structures import DataSample

from mmmim.registry import TRANSFORMS

__all__ = ['PackVideoInputs']


@TRANSFORMS.register_module()
class PackVideoInputs(BaseTransform):
    """Pack ``imgs`` formatted as ``[num_views, C, T, H, W]`` (mmaction2's
    ``FormatShape(input_format='NCTHW')``) into ``inputs`` and an
    mmpretrain ``DataSample`` with ``gt_label`` (from ``label``), the
    ``mask`` and meta information.

    Required Keys:

    - imgs (np.ndarray): ``[num_views, C, T, H, W]`` uint8 or float.

    Optional Keys:

    - label (int), mask (np.ndarray)

    Args:
        algorithm_keys (Sequence[str]): Keys stored as fields of the data
            sample. Defaults to ``('mask',)``.
        meta_keys (Sequence[str]): Keys stored as meta information.
            Defaults to ``('filename', 'frame_inds', 'num_clips',
            'clip_len')``.
    """

    def __init__(
        self,
        algorithm_keys: Sequence[str] = ('mask',),
        meta_keys: Sequence[str] = (
            'filename',
            'frame_inds',
            'num_clips',
            'clip_len',
        ),
    ) -> None:
        self.algorithm_keys = tuple(algorithm_keys)
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack one sample.

        Args:
            results (dict): The pipeline results.

        Returns:
            dict: ``inputs`` (``torch.Tensor [num_views, C, T, H, W]``) and
            ``data_samples`` (``DataSample``).

        Raises:
            ValueError: If ``imgs`` is not formatted as NCTHW.
        """
        imgs = np.ascontiguousarray(results['imgs'])
        if imgs.ndim != 5:
            raise ValueError(
                f'imgs must be [num_views, C, T, H, W], got shape '
                f"{imgs.shape}; add FormatShape(input_format='NCTHW') "
                'before PackVideoInputs'
            )
        sample = DataSample()
        if 'label' in results:
            sample.set_gt_label(results['label'])
        for key in self.algorithm_keys:
            if key in results:
                sample.set_field(results[key], key)
        sample.set_metainfo(
            {k: results[k] for k in self.meta_keys if k in results}
        )
        return dict(inputs=torch.from_numpy(imgs), data_samples=sample)

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(algorithm_keys={self.algorithm_keys}, '
            f'meta_keys={self.meta_keys})'
        )
