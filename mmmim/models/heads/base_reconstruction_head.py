# Copyright (c) mmmim contributors. All rights reserved.
"""The contract every reconstruction head follows."""

from typing import Optional, Union

import torch
from mmengine.model import BaseModule

from ..utils import check_mask, patchify

__all__ = ['BaseReconstructionHead']


class BaseReconstructionHead(BaseModule):
    """Turn inputs into reconstruction targets and score predictions.

    Not registered. Algorithms use exactly this interface, so a new target
    (pixels, normalised pixels, tokens, features, cubes) is a subclass that
    writes :meth:`loss_from_target` and, unless its targets are the input
    pixels in patch space, :meth:`target`:

    - ``patch_size``: the side of the patches (or cubes) the targets are cut
      into; their row ``i`` belongs to token ``i`` of the mask;
    - ``target(inputs)``: targets of every token ``[B, L, P]`` (or ids
      ``[B, L]``) from the normalised inputs the data preprocessor emits;
    - ``loss_from_target(pred, target, mask, *extra)``: the scalar loss on
      the masked tokens;
    - ``loss(pred, inputs, mask, *extra)``: the two together;
    - ``norm_pix``: whether predictions are per-patch normalised (the
      visualiser then un-normalises them with the visible patches).

    Args:
        patch_size (int): Patch side ``p``. Defaults to 16.
        init_cfg (dict | list, optional): Init config. Defaults to None.
    """

    norm_pix: bool = False
    #: What to fix when predictions and targets do not match (the error).
    shape_hint: str = 'decoder predict_dims and patch_size'

    def __init__(
        self,
        patch_size: int = 16,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        self.patch_size = patch_size

    def target(self, inputs: torch.Tensor) -> torch.Tensor:
        """The reconstruction target of every token; here the inputs in
        patch space.

        Args:
            inputs (torch.Tensor): Normalised images ``[B, C, H, W]``.

        Returns:
            torch.Tensor: Targets ``[B, L, p * p * C]``, channel-last inside
            each patch (:func:`~mmmim.models.utils.patchify`).
        """
        return patchify(inputs, self.patch_size)

    def loss_from_target(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor,
        *extra,
    ) -> torch.Tensor:
        """The loss of ``pred`` against :meth:`target`'s output.

        Args:
            pred (torch.Tensor): Predictions ``[B, L, P]`` (logits
                ``[B, L, V]`` for token ids).
            target (torch.Tensor): Targets ``[B, L, P]`` or ids ``[B, L]``.
            mask (torch.Tensor): Bool ``[B, L]``, True = masked.
            *extra: What a head needs besides (e.g. the token ids of
                predictions of masked tokens only).

        Returns:
            torch.Tensor: The scalar loss on the masked tokens.
        """
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

    def check_pair(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor,
        dims: slice = slice(None),
    ) -> None:
        """Raise if the ``dims`` of the two shapes differ (naming
        :attr:`shape_hint`) or ``mask`` does not fit ``target[B, L, ...]``.
        """
        pred_shape, target_shape = pred.shape[dims], target.shape[dims]
        if pred_shape != target_shape:
            raise ValueError(
                f'pred {tuple(pred_shape)} and target {tuple(target_shape)} '
                f'differ; check the {self.shape_hint}'
            )
        check_mask(mask, target.shape[1], target.shape[0], equal_counts=False)
