# Copyright (c) mmmim contributors. All rights reserved.
"""Cube reconstruction target and loss (VideoMAE)."""

from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F

from mmmim.registry import MODELS

from ..utils import gather_tokens
from .base_reconstruction_head import BaseReconstructionHead

__all__ = ['VideoReconstructionHead', 'cubify']

#: ImageNet RGB statistics on the [0, 1] scale (the official un-normalise).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def cubify(
    videos: torch.Tensor, patch_size: int, tubelet_size: int
) -> torch.Tensor:
    """Cut videos into cubes, ``[B, C, T, H, W] -> [B, N, K, C]``.

    ``N`` runs t-major over the token grid and ``K = tubelet * p * p`` over
    the pixels of a cube (frame-major, then rows, then columns), the
    official ``b c (t p0) (h p1) (w p2) -> b (t h w) (p0 p1 p2) c``.

    Args:
        videos (torch.Tensor): Videos ``[B, C, T, H, W]``.
        patch_size (int): Spatial cube side ``p``.
        tubelet_size (int): Frames per cube.

    Returns:
        torch.Tensor: Cubes ``[B, N, tubelet * p * p, C]``.
    """
    b, c, frames, height, width = videos.shape
    p, q = patch_size, tubelet_size
    t, h, w = frames // q, height // p, width // p
    x = videos.reshape(b, c, t, q, h, p, w, p)
    x = x.permute(0, 2, 4, 6, 3, 5, 7, 1)
    return x.reshape(b, t * h * w, q * p * p, c)


@MODELS.register_module()
class VideoReconstructionHead(BaseReconstructionHead):
    """Targets in cube space and the VideoMAE loss on masked cubes.

    The normalised input is first mapped back to ``[0, 1]`` pixels with
    ``mean`` / ``std``. With ``norm_target`` (the official default) each
    channel of each cube is normalised on its own:
    ``(v - mean) / (std_unbiased + eps)`` over the ``tubelet * p * p``
    pixels. Note the two differences from MAE's ``norm_pix``: the eps is
    added to the standard deviation (not the variance) and the statistics
    are per channel. A cube is flattened pixel-major, channel-minor.

    Args:
        patch_size (int): Spatial cube side. Defaults to 16.
        tubelet_size (int): Frames per cube. Defaults to 2.
        norm_target (bool): Normalise each cube per channel.
            Defaults to True.
        norm_target_eps (float): Added to the std. Defaults to 1e-6.
        mean (Sequence[float]): Per-channel mean of the input
            normalisation on the [0, 1] scale. Defaults to ImageNet's.
        std (Sequence[float]): Per-channel std on the [0, 1] scale.
            Defaults to ImageNet's.
        init_cfg (dict | list, optional): Init config. Defaults to None.
    """

    shape_hint = 'decoder patch_size, tubelet_size and in_channels'

    def __init__(
        self,
        patch_size: int = 16,
        tubelet_size: int = 2,
        norm_target: bool = True,
        norm_target_eps: float = 1e-6,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        super().__init__(patch_size, init_cfg)
        self.tubelet_size = tubelet_size
        self.norm_target = norm_target
        self.norm_target_eps = norm_target_eps
        self.register_buffer(
            'mean', torch.tensor(mean).view(1, -1, 1, 1, 1), persistent=False
        )
        self.register_buffer(
            'std', torch.tensor(std).view(1, -1, 1, 1, 1), persistent=False
        )

    def target(self, videos: torch.Tensor) -> torch.Tensor:
        """Build the reconstruction target of every cube.

        Args:
            videos (torch.Tensor): Normalised videos ``[B, C, T, H, W]``.

        Returns:
            torch.Tensor: Targets ``[B, N, tubelet * p * p * C]``.
        """
        with torch.no_grad():
            pixels = videos.float() * self.std + self.mean
            cubes = cubify(pixels, self.patch_size, self.tubelet_size)
            if self.norm_target:
                mean = cubes.mean(dim=-2, keepdim=True)
                std = cubes.var(dim=-2, unbiased=True, keepdim=True).sqrt()
                cubes = (cubes - mean) / (std + self.norm_target_eps)
            return cubes.flatten(2)

    def loss_from_target(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor,
        masked_ids: torch.Tensor,
    ) -> torch.Tensor:
        """MSE between the masked predictions and their targets.

        Args:
            pred (torch.Tensor): Predictions of the masked cubes
                ``[B, N_masked, P]`` in the order of ``masked_ids``.
            target (torch.Tensor): Targets of every cube ``[B, N, P]``.
            mask (torch.Tensor): Bool ``[B, N]``, True = masked.
            masked_ids (torch.Tensor): Token indices ``[B, N_masked]`` of
                the rows of ``pred``.

        Returns:
            torch.Tensor: The mean squared error over masked cubes and
            their values (``nn.MSELoss`` in the official code).
        """
        self.check_pair(pred, target, mask, slice(None, None, 2))
        selected = gather_tokens(target, masked_ids)
        return F.mse_loss(pred.float(), selected.float())
