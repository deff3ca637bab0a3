# Copyright (c) mmmim contributors. All rights reserved.
"""Argument parsing shared by the backbones (``arch``, ``out_indices``)."""

from typing import Dict, Sequence, Tuple, Union

__all__ = ['VIT_ARCHS', 'parse_arch', 'parse_out_indices', 'grid_of']

ARCH_KEYS = ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels')

#: Width, depth and heads of the plain ViTs (ViT-S as VideoMAE's); the MLP
#: is 4x wide.
VIT_ARCHS: Dict[str, dict] = {
    name: dict(
        embed_dims=dims,
        num_layers=depth,
        num_heads=heads,
        feedforward_channels=4 * dims,
    )
    for name, (dims, depth, heads) in dict(
        s=(384, 12, 6), b=(768, 12, 12), l=(1024, 24, 16), h=(1280, 32, 16)
    ).items()
}


def parse_arch(
    arch: Union[str, dict],
    arch_zoo: Dict[str, dict],
    name: str,
    keys: Sequence[str] = ARCH_KEYS,
) -> dict:
    """Resolve an ``arch`` argument against an arch zoo.

    Args:
        arch (str | dict): A zoo key (case-insensitive) or a dict with
            ``embed_dims``, ``num_layers``, ``num_heads`` and
            ``feedforward_channels``.
        arch_zoo (Dict[str, dict]): The known architectures.
        name (str): The backbone name, for error messages.
        keys (Sequence[str]): Keys a custom dict must have. Defaults to
            ``ARCH_KEYS``.

    Returns:
        dict: A copy of the architecture numbers.

    Raises:
        KeyError: If ``arch`` is an unknown name.
        ValueError: If a custom ``arch`` lacks keys.
    """
    if isinstance(arch, str):
        if arch.lower() not in arch_zoo:
            raise KeyError(
                f'unknown {name} arch {arch!r}; choose from '
                f'{sorted(arch_zoo)} or pass a dict with '
                f'{list(keys)}'
            )
        return dict(arch_zoo[arch.lower()])
    if not isinstance(arch, dict) or not set(keys) <= set(arch):
        raise ValueError(
            f'a custom {name} arch must be a dict with keys '
            f'{list(keys)}, got {arch!r}'
        )
    return dict(arch)


def parse_out_indices(
    out_indices: Union[int, Sequence[int]], num_layers: int
) -> Tuple[int, ...]:
    """Normalise ``out_indices`` to non-negative layer indices.

    Args:
        out_indices (int | Sequence[int]): Indices; negative ones count
            from the end.
        num_layers (int): Number of layers.

    Returns:
        Tuple[int, ...]: Indices in ``[0, num_layers)``.

    Raises:
        ValueError: If an index is out of range.
    """
    if isinstance(out_indices, int):
        out_indices = [out_indices]
    parsed = []
    for index in out_indices:
        if not -num_layers <= index < num_layers:
            raise ValueError(
                f'out_indices {index} is out of range for {num_layers} layers'
            )
        parsed.append(index % num_layers)
    return tuple(parsed)


def grid_of(
    img_size: Union[int, Tuple[int, int]], patch_size: int
) -> Tuple[int, int]:
    """The patch grid of an image size.

    Args:
        img_size (int | Tuple[int, int]): ``H`` (square) or ``(H, W)``.
        patch_size (int): Patch side.

    Returns:
        Tuple[int, int]: ``(H / p, W / p)``.

    Raises:
        ValueError: If the size is not divisible by the patch size.
    """
    h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
    if h % patch_size or w % patch_size:
        raise ValueError(
            f'img_size {h}x{w} is not divisible by patch_size '
            f'{patch_size}; use a multiple of {patch_size}'
        )
    return h // patch_size, w // patch_size
