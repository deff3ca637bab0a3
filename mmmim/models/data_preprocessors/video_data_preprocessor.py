# Copyright (c) mmmim contributors. All rights reserved.
"""Batch videos, normalise them and apply batch augmentations."""

import copy
from typing import Optional, Sequence

import torch
from mmpretrain.models.utils.data_preprocessor import ClsDataPreprocessor

from mmmim.registry import MODELS

__all__ = ['VideoDataPreprocessor']


@MODELS.register_module()
class VideoDataPreprocessor(ClsDataPreprocessor):
    """mmpretrain's ``ClsDataPreprocessor`` for videos ``[B, C, T, H, W]``.

    Each sample arrives as ``[num_views, C, T, H, W]`` (``PackVideoInputs``);
    the views of all samples are stacked into one batch
    ``[B * num_views, C, T, H, W]``. In training, several views are
    repeated augmentations of one clip (``RepeatAugment``) and each becomes
    a sample with the video's label; in testing they are clips x crops,
    averaged by ``VideoClassifier``. The mean
    and std broadcast over the channel axis, and mmpretrain's labels,
    one-hot scores and batch augmentations (Mixup / CutMix on the last two
    axes) are reused as they are.

    Args:
        mean (Sequence[float]): Per-channel mean on the 0-255 scale.
            Defaults to ImageNet's.
        std (Sequence[float]): Per-channel std. Defaults to ImageNet's.
        to_rgb (bool): Flip the channels (decoders here give RGB
            already). Defaults to False.
        num_classes (int, optional): For one-hot scores with batch
            augmentations. Defaults to None.
        batch_augments (dict, optional): mmpretrain batch augmentations.
            Defaults to None.
        to_onehot (bool): Build one-hot ``gt_score``. Defaults to False.
    """

    def __init__(
        self,
        mean: Sequence[float] = (123.675, 116.28, 103.53),
        std: Sequence[float] = (58.395, 57.12, 57.375),
        to_rgb: bool = False,
        num_classes: Optional[int] = None,
        batch_augments: Optional[dict] = None,
        to_onehot: bool = False,
    ) -> None:
        super().__init__(
            mean=mean,
            std=std,
            to_rgb=to_rgb,
            num_classes=num_classes,
            batch_augments=batch_augments,
            to_onehot=to_onehot,
        )
        # [C, 1, 1, 1] so the channel axis of [B, C, T, H, W] lines up.
        self.register_buffer(
            'mean', torch.tensor(mean).view(-1, 1, 1, 1), False
        )
        self.register_buffer('std', torch.tensor(std).view(-1, 1, 1, 1), False)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Stack, normalise and augment.

        Args:
            data (dict): ``inputs`` (a list of ``[V, C, T, H, W]`` tensors or
                one ``[B, V, C, T, H, W]`` tensor) and ``data_samples``.
            training (bool): Enable batch augmentations. Defaults to False.

        Returns:
            dict: ``inputs`` ``[B * V, C, T, H, W]`` float and the samples.

        Raises:
            ValueError: If a sample is not ``[V, C, T, H, W]`` or the views
                differ in size.
        """
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        shapes = {tuple(x.shape) for x in inputs}
        if len(shapes) != 1 or len(next(iter(shapes))) != 5:
            raise ValueError(
                'every sample must be [num_views, C, T, H, W] of one size, '
                f'got {sorted(shapes)}; crop or resize the clips to one size '
                'and pack them with FormatShape(NCTHW) + PackVideoInputs'
            )
        num_views = inputs[0].shape[0]
        views = torch.stack(inputs).flatten(0, 1)
        samples = data.get('data_samples')
        if training and samples and num_views > 1:
            # Repeated augmentation (RepeatAugment): in training every view
            # is a sample of its own, with the label of its video.
            samples = [
                copy.deepcopy(sample)
                for sample in samples
                for _ in range(num_views)
            ]
        return super().forward(
            dict(inputs=views, data_samples=samples), training
        )
