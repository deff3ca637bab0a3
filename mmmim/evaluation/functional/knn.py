# Copyright (c) mmmim contributors. All rights reserved.
"""Weighted k-nearest-neighbour classification of frozen features.

The protocol of DINO's ``eval_knn.py`` (also solo-learn's ``WeightedKNN``):
cosine similarity to a labelled bank, the ``k`` most similar bank samples
vote for their class with weight ``exp(similarity / T)``, and the class with
the largest summed vote wins.
"""

from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F

__all__ = [
    'weighted_knn_scores',
    'weighted_knn_scores_per_k',
    'weighted_knn_classify',
    'topk_accuracy',
]


def _check(
    bank_feats: torch.Tensor,
    bank_labels: torch.Tensor,
    query_feats: torch.Tensor,
    k: int,
    temperature: float,
) -> None:
    """Fail with a message that names the offending argument."""
    if bank_feats.dim() != 2 or query_feats.dim() != 2:
        raise ValueError(
            'bank_feats and query_feats must be [N, D] and [Q, D], got '
            f'{tuple(bank_feats.shape)} and {tuple(query_feats.shape)}'
        )
    if bank_feats.shape[0] == 0:
        raise ValueError('the kNN bank is empty: give at least k samples')
    if bank_labels.shape != (bank_feats.shape[0],):
        raise ValueError(
            f'bank_labels must be [N] = [{bank_feats.shape[0]}] to match '
            f'bank_feats, got {tuple(bank_labels.shape)}'
        )
    if bank_feats.shape[1] != query_feats.shape[1]:
        raise ValueError(
            f'bank features are {bank_feats.shape[1]}-d but query features '
            f'are {query_feats.shape[1]}-d'
        )
    if bank_labels.dtype.is_floating_point or bank_labels.dtype == torch.bool:
        raise ValueError(
            'bank_labels must be integer class indices, got '
            f'{bank_labels.dtype}'
        )
    if not 1 <= k <= bank_feats.shape[0]:
        # No silent clamping: a k above the bank size would make every
        # query vote with the whole bank, which is a configuration mistake.
        raise ValueError(
            f'k must be in [1, bank size = {bank_feats.shape[0]}], got {k}'
        )
    if not temperature > 0:
        raise ValueError(f'temperature must be > 0, got {temperature}')


def weighted_knn_scores(
    bank_feats: torch.Tensor,
    bank_labels: torch.Tensor,
    query_feats: torch.Tensor,
    k: int = 20,
    temperature: float = 0.07,
    num_classes: Optional[int] = None,
    chunk_size: int = 256,
) -> torch.Tensor:
    """Class scores of a weighted cosine kNN, normalised per query.

    Features are L2-normalised here (a no-op up to rounding for features
    that already are), so the similarity is the cosine. For each query the
    ``k`` most similar bank samples vote for their label with weight
    ``exp(cos / temperature)``; a small temperature makes the nearest
    neighbours dominate, a large one tends to a plain majority vote. The
    votes are divided by their sum, so a row is a distribution over the
    classes (this changes neither the argmax nor the ranking, and keeps
    ``exp`` finite for any temperature: it is computed relative to the most
    similar neighbour).

    Queries are processed ``chunk_size`` at a time, so the similarity
    matrix in memory is ``[chunk_size, N]``: 256 x 60k floats is 61 MB.
    The chunking does not change the result.

    Ties between neighbours at the k-th similarity are broken by
    :func:`torch.topk` (unspecified which of the tied samples is taken).

    Args:
        bank_feats (torch.Tensor): Labelled features ``[N, D]``.
        bank_labels (torch.Tensor): Integer labels ``[N]`` in
            ``[0, num_classes)``.
        query_feats (torch.Tensor): Features to classify ``[Q, D]``, on the
            device of ``bank_feats``.
        k (int): Neighbours per query, in ``[1, N]`` (a larger ``k`` raises
            a ValueError rather than being clamped). Defaults to 20.
        temperature (float): Softness of the vote weights, > 0.
            Defaults to 0.07.
        num_classes (int, optional): Number of classes. Defaults to None:
            ``bank_labels.max() + 1``.
        chunk_size (int): Queries per similarity block. Defaults to 256.

    Returns:
        torch.Tensor: Float32 scores ``[Q, num_classes]``; each row sums
        to 1, and classes without a neighbour score 0.
    """
    return weighted_knn_scores_per_k(
        bank_feats,
        bank_labels,
        query_feats,
        ks=(k,),
        temperature=temperature,
        num_classes=num_classes,
        chunk_size=chunk_size,
    )[k]


def weighted_knn_scores_per_k(
    bank_feats: torch.Tensor,
    bank_labels: torch.Tensor,
    query_feats: torch.Tensor,
    ks: Sequence[int],
    temperature: float = 0.07,
    num_classes: Optional[int] = None,
    chunk_size: int = 256,
) -> Dict[int, torch.Tensor]:
    """:func:`weighted_knn_scores` for several ``k`` from one pass.

    The similarities are computed once and the ``max(ks)`` nearest bank
    samples taken in order, so the ``k`` nearest are their first ``k``:
    choosing ``k`` on a validation split costs one kNN, not one per ``k``
    (the similarity matrix is most of the work, 50k x 10k x 6k for a
    token map).

    Args:
        ks (Sequence[int]): Neighbour counts, each in ``[1, N]``
            (repeats count once).
        Others: as :func:`weighted_knn_scores`.

    Returns:
        Dict[int, torch.Tensor]: ``{k: scores [Q, num_classes]}``.
    """
    if not ks:
        raise ValueError('ks is empty: give at least one neighbour count')
    # A k listed twice would vote twice into the same scores.
    ks = sorted(set(ks))
    for k in ks:
        _check(bank_feats, bank_labels, query_feats, k, temperature)
    if chunk_size < 1:
        raise ValueError(f'chunk_size must be >= 1, got {chunk_size}')
    bank_labels = bank_labels.to(bank_feats.device, torch.long)
    if num_classes is None:
        num_classes = int(bank_labels.max()) + 1
    if bank_labels.min() < 0 or bank_labels.max() >= num_classes:
        raise ValueError(
            f'bank_labels must lie in [0, num_classes = {num_classes}), got '
            f'[{int(bank_labels.min())}, {int(bank_labels.max())}]'
        )
    # float32 even for half-precision features: the similarities of close
    # neighbours differ in the last bits, which the temperature amplifies.
    bank = F.normalize(bank_feats.float(), dim=1)
    queries = F.normalize(query_feats.float(), dim=1)
    scores = {k: bank.new_zeros(len(queries), num_classes) for k in ks}
    for start in range(0, len(queries), chunk_size):
        sim = queries[start : start + chunk_size] @ bank.T
        # Sorted, most similar first.
        top_sim, top_idx = sim.topk(max(ks), dim=1, sorted=True)
        # Relative to the best neighbour (the first column): the ratios of
        # the weights are those of exp(sim / T), without overflow.
        weights = ((top_sim - top_sim[:, :1]) / temperature).exp()
        top_labels = bank_labels[top_idx]
        for k in ks:
            votes = scores[k][start : start + chunk_size]
            votes.scatter_add_(1, top_labels[:, :k], weights[:, :k])
            votes /= weights[:, :k].sum(dim=1, keepdim=True)
    return scores


def weighted_knn_classify(
    bank_feats: torch.Tensor,
    bank_labels: torch.Tensor,
    query_feats: torch.Tensor,
    k: int = 20,
    temperature: float = 0.07,
    num_classes: Optional[int] = None,
    chunk_size: int = 256,
) -> torch.Tensor:
    """Predicted classes of a weighted cosine kNN.

    The arguments are those of :func:`weighted_knn_scores`. A tie between
    classes of equal summed vote goes to the smallest class index (the
    first maximum of :func:`torch.argmax`).

    Returns:
        torch.Tensor: Predicted labels ``[Q]`` (int64).
    """
    scores = weighted_knn_scores(
        bank_feats,
        bank_labels,
        query_feats,
        k=k,
        temperature=temperature,
        num_classes=num_classes,
        chunk_size=chunk_size,
    )
    return scores.argmax(dim=1)


def topk_accuracy(
    scores: torch.Tensor, labels: torch.Tensor, topk: Sequence[int] = (1, 5)
) -> Dict[int, float]:
    """Top-k accuracy in percent, with ties ranked by class index.

    A query counts as correct for ``k`` when fewer than ``k`` classes rank
    above its label; a class ranks above the label when it scores more, or
    the same with a smaller index. Top-1 therefore agrees with
    :func:`weighted_knn_classify`, and the result does not depend on how
    :func:`torch.topk` orders ties. A ``k`` of at least the number of
    classes gives 100 (every label is among the top k). Labels outside
    ``[0, C)`` count as wrong.

    Args:
        scores (torch.Tensor): Class scores ``[Q, C]``.
        labels (torch.Tensor): True labels ``[Q]``.
        topk (Sequence[int]): The ``k`` values, each >= 1.
            Defaults to (1, 5).

    Returns:
        Dict[int, float]: ``{k: accuracy in [0, 100]}``.
    """
    if scores.dim() != 2 or labels.shape != (scores.shape[0],):
        raise ValueError(
            'scores must be [Q, C] and labels [Q], got '
            f'{tuple(scores.shape)} and {tuple(labels.shape)}'
        )
    if scores.shape[0] == 0:
        raise ValueError('no queries: accuracy is undefined')
    if any(k < 1 for k in topk):
        raise ValueError(f'every k of topk must be >= 1, got {topk}')
    labels = labels.to(scores.device, torch.long)
    valid = (labels >= 0) & (labels < scores.shape[1])
    label_score = scores.gather(
        1, labels.clamp(0, scores.shape[1] - 1)[:, None]
    )
    classes = torch.arange(scores.shape[1], device=scores.device)
    above = (scores > label_score) | (
        (scores == label_score) & (classes[None] < labels[:, None])
    )
    rank = above.sum(dim=1)
    num = scores.shape[0]
    # Counted in Python: 100 * 3 / 5 is exactly 60.0, a float32 mean not.
    return {k: 100.0 * int(((rank < k) & valid).sum()) / num for k in topk}
