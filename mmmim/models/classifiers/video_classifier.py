# Copyright (c) mmmim contributors. All rights reserved.
"""Video classification with multi-view testing."""

from typing import List, Literal, Optional

import torch
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.structures import DataSample

from mmmim.registry import MODELS

__all__ = ['VideoClassifier']


@MODELS.register_module()
class VideoClassifier(ImageClassifier):
    """mmpretrain's ``ImageClassifier`` on videos, averaging test views.

    Training is ``ImageClassifier``'s (one clip per sample). At test time a
    sample may carry several views (clips x crops, e.g. 5 x 3 on
    Kinetics); the data preprocessor stacks them as consecutive rows and
    the scores of each sample's views are averaged: softmax then mean
    (``'prob'``, the official VideoMAE test) or mean of the logits
    (``'score'``).

    Args:
        average_clips (str): ``'prob'`` or ``'score'``. Defaults to 'prob'.
        **kwargs: Arguments of ``mmpretrain.ImageClassifier``
            (``backbone``, ``neck``, ``head``, ``data_preprocessor``, ...).
    """

    def __init__(
        self, average_clips: Literal['prob', 'score'] = 'prob', **kwargs
    ) -> None:
        if average_clips not in ('prob', 'score'):
            raise ValueError(
                "average_clips must be 'prob' or 'score', got "
                f'{average_clips!r}'
            )
        kwargs.setdefault(
            'data_preprocessor', dict(type='mmmim.VideoDataPreprocessor')
        )
        super().__init__(**kwargs)
        self.average_clips = average_clips

    def predict(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[List[DataSample]] = None,
        **kwargs,
    ) -> List[DataSample]:
        """Predict, averaging each sample's views.

        Args:
            inputs (torch.Tensor): Views ``[B * V, C, T, H, W]``.
            data_samples (List[DataSample], optional): ``B`` samples.
                Defaults to None (one view per sample).

        Returns:
            List[DataSample]: Samples with ``pred_score`` ``[K]`` and
            ``pred_label``.
        """
        num_samples = len(data_samples) if data_samples else len(inputs)
        if len(inputs) % num_samples:
            raise ValueError(
                f'{len(inputs)} views do not split evenly over '
                f'{num_samples} samples'
            )
        logits = self.head(self.extract_feat(inputs))
        logits = logits.view(num_samples, -1, logits.shape[-1])
        if self.average_clips == 'prob':
            scores = logits.softmax(dim=-1).mean(dim=1)
        else:
            scores = logits.mean(dim=1).softmax(dim=-1)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(num_samples)]
        labels = scores.argmax(dim=1, keepdim=True).detach()
        for sample, score, label in zip(data_samples, scores, labels):
            sample.set_pred_score(score).set_pred_label(label)
        return data_samples
