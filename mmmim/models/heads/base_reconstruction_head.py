# Copyright (c) mmmim contributors. All rights reserved.
"""The contract every reconstruction head follows."""

from typing import Optional, Union

import torch
from mmengine.model import BaseModule

from ..utils import check_mask

__all__ = ['BaseReconstructionHead']


class BaseReconstructionHead(BaseModule):
    """Turn inputs into reconstruction targets and score predictions.

    Not registered. Algorithms use exactly this interface, so a new target
    (pixels, normalised pixels, tokens, features, cubes) is a subclass that
    writes :meth:`target` and :meth:`loss_from_target`:

    - ``patch_size``: the side of the patches (or cubes) the targets are cut
      into; their row ``i`` belongs to token ``i`` of the mask;
    - ``target(inputs)``: targets of every token ``[B, L, P]`` (or ids
      ``[B, L]``) from the normalised inputs the data preprocessor emits;
    - ``loss_from_target(pred, target, mask, *extra)``: the scalar loss on
      the masked tokens, ``mask`` bool ``[B, L]`` with True = masked;
    - ``loss(pred, inputs, mask, *extra)``: the two together;
    - ``norm_pix``: whether predictions are per-patch normalised (the
      visualiser then un-normalises them with the visible patches).

    Args:
        patch_size (int): Patch side ``p``. Defaults to 16.
        init_cfg (dict | list, optional): Init config. Defaults to None.
    """

    norm_pix: bool = False

    def __init__(
        self,
        patch_size: int = 16,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.patch_size = patch_size

    def target(self, inputs: torch.Tensor) -> torch.Tensor:
        """The reconstruction target of every token."""
        raise NotImplementedError

    def loss_from_target(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor,
        *extra,
    ) -> torch.Tensor:
        """The scalar loss of ``pred`` against :meth:`target`'s output."""
        raise NotImplementedError

    def loss(
        self,
        pred: torch.Tensor,
        inputs: torch.Tensor,
        mask: torch.Tensor,
        *extra,
    ) -> torch.Tensor:
        """The loss from the inputs: :meth:`target`, then
        :meth:`loss_from_target`."""
        return self.loss_from_target(pred, self.target(inputs), mask, *extra)

    @staticmethod
    def check_pair(
        pred_shape: tuple,
        target_shape: tuple,
        target: torch.Tensor,
        mask: torch.Tensor,
        hint: str,
    ) -> None:
        """Raise if the compared shapes differ (``hint`` names what to
        fix) or ``mask`` does not fit the targets."""
        if tuple(pred_shape) != tuple(target_shape):
            raise ValueError(
                f'pred {tuple(pred_shape)} and target {tuple(target_shape)} '
                f'differ; check the {hint}'
            )
        check_mask(mask, target.shape[1], target.shape[0], equal_counts=False)
