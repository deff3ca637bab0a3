# Copyright (c) mmmim contributors. All rights reserved.
"""VideoMAE (Tong et al., 2022)."""

from typing import Dict, Optional

import torch

from mmmim.registry import MODELS

from .base import BaseMIM

__all__ = ['VideoMAE']

#: ImageNet normalisation on RGB videos ``[B, C, T, H, W]``.
VIDEO_DATA_PREPROCESSOR = dict(
    type='mmmim.VideoDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
)


@MODELS.register_module()
class VideoMAE(BaseMIM):
    """Video masked autoencoder: tube masking at 90%, cube targets.

    ``backbone`` is a ``VideoMAEViT`` returning ``(latent, mask)`` for the
    visible tokens, ``neck`` a ``VideoMAEDecoder`` predicting the masked
    cubes only, ``head`` a ``VideoReconstructionHead`` building the
    per-channel normalised cube targets and the MSE.

    Arguments as :class:`BaseMIM`; the default data preprocessor is
    ``mmmim.VideoDataPreprocessor`` with the ImageNet mean and std.
    """

    default_data_preprocessor = VIDEO_DATA_PREPROCESSOR

    def _masked_prediction(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor]
    ) -> Dict[str, torch.Tensor]:
        """Encode, decode and score; the predictions of masked cubes only."""
        latent, mask = self.backbone(inputs, mask)
        pred_masked = self.neck(latent, mask)
        masked_ids = self.neck.masked_ids(mask, pred_masked.shape[1])
        target = self.head.target(inputs)
        loss = self.head.loss_from_target(
            pred_masked, target, mask, masked_ids
        )
        return dict(
            pred_masked=pred_masked,
            masked_ids=masked_ids,
            target=target,
            mask=mask,
            loss=loss,
        )

    def loss(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """The training loss, without laying predictions out per token.

        Args:
            inputs (torch.Tensor): Normalised videos ``[B, C, T, H, W]``.
            mask (torch.Tensor, optional): Bool ``[B, N]``.
                Defaults to None.

        Returns:
            Dict[str, torch.Tensor]: ``dict(loss=scalar)``.
        """
        return dict(loss=self._masked_prediction(inputs, mask)['loss'])

    def reconstruct(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """Reconstruct masked cubes.

        Args:
            inputs (torch.Tensor): Normalised videos ``[B, C, T, H, W]``.
            mask (torch.Tensor, optional): Bool ``[B, N]``, True = masked,
                tokens t-major. Defaults to None (drawn by the backbone).

        Returns:
            dict: ``pred`` ``[B, N, P]`` (the decoder's predictions at the
            masked tokens, zeros at the visible ones), ``target``
            ``[B, N, P]``, the ``mask`` ``[B, N]`` used and the scalar
            ``loss``.
        """
        out = self._masked_prediction(inputs, mask)
        pred_masked, target = out['pred_masked'], out['target']
        index = out['masked_ids'].unsqueeze(-1).expand_as(pred_masked)
        pred = torch.zeros_like(target, dtype=pred_masked.dtype).scatter(
            1, index, pred_masked
        )
        return dict(
            pred=pred, target=target, mask=out['mask'], loss=out['loss']
        )
