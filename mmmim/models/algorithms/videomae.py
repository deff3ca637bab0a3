# Copyright (c) mmmim contributors. All rights reserved.
"""VideoMAE (Tong et al., 2022)."""

from typing import Dict, Optional, Tuple

import torch

from mmmim.registry import MODELS

from .base import BaseMIM
from .geometry import check_mae_geometry, raise_if_any

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

    def check_geometry(self) -> None:
        """The decoder's cubes, width and the head's cubes are the
        encoder's."""
        problems = check_mae_geometry(self.backbone, self.neck, self.head)
        raise_if_any(problems, 'VideoMAE')

    def _masked_prediction(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor]
    ) -> Tuple[torch.Tensor, ...]:
        """Encode, decode and score the masked cubes only: ``pred_masked``
        ``[B, N_masked, P]``, their token ids ``masked_ids``, ``target``,
        ``mask`` and ``loss``."""
        latent, mask = self.backbone(inputs, mask)
        pred_masked = self.neck(latent, mask)
        masked_ids = self.neck.masked_ids(mask, pred_masked.shape[1])
        target = self.head.target(inputs)
        loss = self.head.loss_from_target(
            pred_masked, target, mask, masked_ids
        )
        return pred_masked, masked_ids, target, mask, loss

    def loss(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """As :meth:`BaseMIM.loss`, without laying the predictions out per
        token (a ``[B, N, P]`` tensor the loss does not need)."""
        return dict(loss=self._masked_prediction(inputs, mask)[-1])

    def reconstruct(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """As :meth:`BaseMIM.reconstruct` on videos ``[B, C, T, H, W]``,
        tokens t-major; ``pred`` holds the decoder's predictions at the
        masked tokens and zeros at the visible ones."""
        pred_masked, ids, target, mask, loss = self._masked_prediction(
            inputs, mask
        )
        index = ids.unsqueeze(-1).expand_as(pred_masked)
        pred = target.new_zeros(target.shape, dtype=pred_masked.dtype)
        pred = pred.scatter(1, index, pred_masked)
        return dict(pred=pred, target=target, mask=mask, loss=loss)
