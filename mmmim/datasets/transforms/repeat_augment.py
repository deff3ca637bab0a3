# Copyright (c) mmmim contributors. All rights reserved.
"""Repeated augmentation of one decoded clip (VideoMAE ``num_sample``)."""

import copy
from typing import List

import numpy as np
from mmcv.transforms import BaseTransform, Compose

from mmmim.registry import TRANSFORMS

__all__ = ['RepeatAugment']


@TRANSFORMS.register_module()
class RepeatAugment(BaseTransform):
    """Run an augmentation pipeline several times on the same decoded clip.

    The official VideoMAE fine-tuning (``--num_sample 2``) decodes a clip
    once and feeds two independently augmented copies of it to the model,
    which doubles the batch without doubling the decoding. The outputs,
    each ``[1, C, T, H, W]`` after ``FormatShape('NCTHW')``, are stacked as
    views ``[num_repeats, C, T, H, W]``; ``VideoDataPreprocessor`` turns
    every view into a training sample with the clip's label. (The official
    learning-rate scaling does not count the repeats.)

    Required Keys:

    - imgs, and what the inner transforms need

    Modified Keys:

    - imgs (np.ndarray): ``[num_repeats, C, T, H, W]``

    Args:
        transforms (List[dict]): The augmentation pipeline, ending in
            ``FormatShape(input_format='NCTHW')``.
        num_repeats (int): Copies per clip. Defaults to 2.
    """

    def __init__(self, transforms: List[dict], num_repeats: int = 2) -> None:
        if num_repeats < 1:
            raise ValueError(f'num_repeats must be >= 1, got {num_repeats}')
        self.pipeline = Compose(transforms)
        self.num_repeats = num_repeats

    def transform(self, results: dict) -> dict:
        """Augment ``num_repeats`` copies and stack their ``imgs``.

        Args:
            results (dict): The pipeline results with decoded ``imgs``.

        Returns:
            dict: The first copy's results with the stacked ``imgs``.

        Raises:
            ValueError: If the inner pipeline does not format NCTHW.
        """
        outputs = []
        for _ in range(self.num_repeats):
            # Own frame arrays per copy: some transforms (mmaction2's Flip)
            # work in place on crops that are views of the decoded frames.
            clip = copy.copy(results)
            clip['imgs'] = [np.array(img) for img in results['imgs']]
            outputs.append(self.pipeline(clip))
        views = [np.asarray(out['imgs']) for out in outputs]
        if any(view.ndim != 5 for view in views):
            raise ValueError(
                'RepeatAugment needs transforms that end in '
                "FormatShape(input_format='NCTHW'); got imgs of shape "
                f'{views[0].shape}'
            )
        merged = outputs[0]
        merged['imgs'] = np.concatenate(views, axis=0)
        return merged

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(num_repeats={self.num_repeats}, '
            f'pipeline={self.pipeline})'
        )
