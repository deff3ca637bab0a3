# Copyright (c) mmmim contributors. All rights reserved.
"""The mask convention and gather-based token selection.

A mask is a bool tensor ``[B, L]`` with ``True`` = masked (hidden from the
encoder, predicted by the decoder) and the ``L`` tokens in row-major
order. Token selection uses ``torch.gather`` with an expanded (not
repeated) index and never boolean indexing, so the training step has no
data-dependent shapes and no device-to-host synchronisation.
"""

from typing import Optional, Tuple

import torch

__all__ = [
    'check_mask',
    'check_mask_counts_async',
    'mask_to_ids',
    'gather_tokens',
]


def check_mask(
    mask: torch.Tensor,
    num_tokens: int,
    batch_size: Optional[int] = None,
    equal_counts: bool = True,
) -> Optional[int]:
    """Validate a mask against the mask convention.

    Args:
        mask (torch.Tensor): The mask, expected bool ``[B, L]``.
        num_tokens (int): The expected ``L``.
        batch_size (int, optional): The expected ``B``. Defaults to None
            (not checked).
        equal_counts (bool): Whether every sample must mask the same number
            of tokens, which an encoder that drops tokens needs. Checking
            it reads the counts back from the device once.
            Defaults to True.

    Returns:
        int | None: The number of masked tokens per sample when
        ``equal_counts`` is True, else None.

    Raises:
        TypeError: If ``mask`` is not a tensor.
        ValueError: If the dtype, the shape or the per-sample counts are
            wrong.
    """
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f'mask must be a torch.Tensor, got {type(mask)}')
    if mask.dtype != torch.bool:
        raise ValueError(
            f'mask must be a bool tensor (True = masked), got '
            f'{mask.dtype}; convert it with mask.bool()'
        )
    if mask.dim() != 2 or mask.shape[1] != num_tokens:
        raise ValueError(
            f'mask must have shape [B, {num_tokens}] (one '
            f'entry per token), got {tuple(mask.shape)}'
        )
    if batch_size is not None and mask.shape[0] != batch_size:
        raise ValueError(
            f'mask has {mask.shape[0]} samples but the batch has {batch_size}'
        )
    if not equal_counts:
        return None
    counts = mask.sum(dim=1)
    # One read-back for both extremes.
    low, high = torch.stack([counts.min(), counts.max()]).tolist()
    if low != high:
        raise ValueError(
            'every sample must mask the same number of tokens because the '
            f'encoder drops masked tokens; got between {low} and {high} '
            'masked tokens per sample. Use a mask generator with exact '
            'counts, or an encoder that keeps all tokens (mask token mode)'
        )
    return int(low)


def check_mask_counts_async(
    mask: torch.Tensor,
    num_tokens: int,
    num_masked: int,
    batch_size: Optional[int] = None,
) -> int:
    """Validate a mask whose per-sample count is known in advance.

    The dtype and the shape are checked on the host; the counts with
    ``torch._assert_async``, which needs no device-to-host read-back (on
    the CPU it raises at once, on a GPU it fails the kernel).

    Args:
        mask (torch.Tensor): The mask, expected bool ``[B, L]``.
        num_tokens (int): The expected ``L``.
        num_masked (int): The expected masked tokens per sample (e.g.
            ``mask_generator.num_masked(grid)``).
        batch_size (int, optional): The expected ``B``. Defaults to None.

    Returns:
        int: ``num_masked``.
    """
    check_mask(mask, num_tokens, batch_size, equal_counts=False)
    torch._assert_async(
        (mask.sum(dim=1) == num_masked).all(),
        f'every sample must mask exactly {num_masked} of {num_tokens} '
        'tokens, as the mask generator of the model does; the masks of '
        'the data pipeline use another ratio or grid',
    )
    return num_masked


def mask_to_ids(
    mask: torch.Tensor, num_visible: Optional[int] = None
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Turn a mask into gather indices.

    A stable sort puts the visible tokens first, in their original order,
    followed by the masked ones. ``ids_restore`` undoes that permutation.

    Args:
        mask (torch.Tensor): Bool mask ``[B, L]`` with the same number of
            masked tokens in every sample.
        num_visible (int, optional): The number of visible tokens per
            sample. Pass it on hot paths: deriving it from ``mask`` reads
            one value back from the device. Defaults to None.

    Returns:
        Tuple[torch.Tensor, torch.Tensor]:

        - ``ids_keep`` (``[B, num_visible]``): indices of visible tokens.
        - ``ids_restore`` (``[B, L]``): for each original position, its
          index in ``cat([visible, masked])``.
    """
    if num_visible is None:
        num_visible = mask.shape[1] - int(mask[0].sum())
    ids_shuffle = torch.argsort(mask.to(torch.uint8), dim=1, stable=True)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    return ids_shuffle[:, :num_visible], ids_restore


def gather_tokens(x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Select tokens per sample.

    Args:
        x (torch.Tensor): Tokens ``[B, N, D]``.
        ids (torch.Tensor): Indices ``[B, M]`` into the ``N`` axis.

    Returns:
        torch.Tensor: ``x[b, ids[b]]`` of shape ``[B, M, D]``.
    """
    # expand() is a view; repeat() would materialise a [B, M, D] index.
    index = ids.unsqueeze(-1).expand(-1, -1, x.shape[-1])
    return torch.gather(x, dim=1, index=index)
