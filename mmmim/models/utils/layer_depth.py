# Copyright (c) mmmim contributors. All rights reserved.
"""Layer ids of plain ViT parameters for layer-wise learning-rate decay."""

from typing import Sequence, Tuple

__all__ = ['vit_layer_depth']

#: Parameters that sit before the first block (layer id 0).
EMBEDDING_NAMES = ('cls_token', 'pos_embed', 'mask_token')


def vit_layer_depth(
    param_name: str,
    prefix: str,
    num_layers: int,
    embedding_names: Sequence[str] = EMBEDDING_NAMES,
    stem_prefixes: Tuple[str, ...] = ('patch_embed',),
    blocks_prefix: str = 'blocks.',
) -> Tuple[int, int]:
    """Layer id of a parameter, as the official MAE / SimMIM / VideoMAE
    ``lr_decay`` assign it (mmpretrain's ``get_layer_depth`` contract).

    0 for the embeddings (``patch_embed.*`` and ``embedding_names``),
    ``i + 1`` for ``blocks.i.*``, ``num_layers + 1`` for everything else
    (final norms, the head, parameters outside ``prefix``).

    Args:
        param_name (str): The full parameter name.
        prefix (str): The prefix of the backbone in the model, e.g.
            ``'backbone.'``.
        num_layers (int): Blocks of the backbone.
        embedding_names (Sequence[str]): Names at layer 0 besides
            ``patch_embed.*``. Defaults to the tokens and ``pos_embed``.
        stem_prefixes (Tuple[str, ...]): Module prefixes at layer 0.
            Defaults to ``('patch_embed',)``.
        blocks_prefix (str): Prefix of the counted blocks. Defaults to
            ``'blocks.'``.

    Returns:
        Tuple[int, int]: The layer id and the number of depths
        (``num_layers + 2``).
    """
    num_depths = num_layers + 2
    if not param_name.startswith(prefix):
        return num_depths - 1, num_depths
    name = param_name[len(prefix) :]
    if name in embedding_names or name.startswith(stem_prefixes):
        return 0, num_depths
    if name.startswith(blocks_prefix):
        return int(name.split('.')[1]) + 1, num_depths
    return num_depths - 1, num_depths
