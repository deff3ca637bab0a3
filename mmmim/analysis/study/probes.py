# Copyright (c) mmmim contributors. All rights reserved.
"""Read-outs of frozen representations: kNN and a linear probe.

The same two classifiers read out raw pixels and encoder features, and
both choose their hyper-parameters on a validation split carved out of
the training set (never on the test set), so a comparison between
representations is a comparison of the representations only:

* :func:`knn_probe`: DINO's weighted cosine kNN
  (:func:`mmmim.evaluation.functional.weighted_knn_classify`), ``k`` picked
  on the validation split, the bank then holds every training sample.
* :func:`linear_probe`: multinomial logistic regression on standardised
  features (full-batch L-BFGS, the convex problem solved to convergence
  rather than an SGD schedule), the L2 strength picked on the validation
  split, then refit on every training sample.
"""

from dataclasses import dataclass, field
from typing import Dict, Sequence, Tuple

import torch
import torch.nn.functional as F

from mmmim.evaluation.functional import (
    weighted_knn_classify,
    weighted_knn_scores_per_k,
)

__all__ = ['ProbeResult', 'split_validation', 'knn_probe', 'linear_probe']


@dataclass
class ProbeResult:
    """Test top-1 (percent), the chosen setting and the validation scores.

    Attributes:
        top1 (float): Top-1 on the test samples, in percent.
        chosen (dict): The hyper-parameters chosen on the validation split.
        validation (dict): Validation top-1 of every candidate.
    """

    top1: float
    chosen: Dict[str, float]
    validation: Dict[str, float] = field(default_factory=dict)


def split_validation(
    num_train: int, num_val: int, seed: int = 0
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Indices of a fixed train / validation split of the training set.

    Args:
        num_train (int): Training samples ``N``.
        num_val (int): Samples held out for validation, ``0 < V < N``.
        seed (int): Seed of the permutation. Defaults to 0.

    Returns:
        tuple: ``(fit [N - V], val [V])`` sorted index tensors.
    """
    if not 0 < num_val < num_train:
        raise ValueError(f'num_val must be in (0, {num_train}), got {num_val}')
    perm = torch.randperm(
        num_train, generator=torch.Generator().manual_seed(seed)
    )
    return perm[num_val:].sort().values, perm[:num_val].sort().values


def _accuracy(pred: torch.Tensor, labels: torch.Tensor) -> float:
    return 100.0 * float((pred == labels).float().mean())


def knn_probe(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    ks: Sequence[int] = (5, 10, 20, 50),
    temperature: float = 0.07,
    num_val: int = 10000,
    seed: int = 0,
) -> ProbeResult:
    """Weighted cosine kNN with ``k`` chosen on a validation split.

    Args:
        train_x (torch.Tensor): Training features ``[N, D]``.
        train_y (torch.Tensor): Training labels ``[N]``.
        test_x (torch.Tensor): Test features ``[M, D]``.
        test_y (torch.Tensor): Test labels ``[M]``.
        ks (Sequence[int]): Candidate neighbour counts.
        temperature (float): Votes are ``exp(cosine / T)``.
        num_val (int): Training samples held out to choose ``k``.
        seed (int): Seed of the validation split.

    Returns:
        ProbeResult: Test top-1 with the bank of all ``N`` samples.
    """
    fit, val = split_validation(len(train_x), num_val, seed)
    # One similarity pass for every candidate k.
    per_k = weighted_knn_scores_per_k(
        train_x[fit], train_y[fit], train_x[val], ks, temperature
    )
    scores = {
        f'k={k}': _accuracy(per_k[k].argmax(1), train_y[val]) for k in ks
    }
    best = max(ks, key=lambda k: (scores[f'k={k}'], -k))
    pred = weighted_knn_classify(
        train_x, train_y, test_x, k=best, temperature=temperature
    )
    return ProbeResult(
        _accuracy(pred, test_y), dict(k=best, temperature=temperature), scores
    )


def _fit_logistic(
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    weight_decay: float,
    max_iter: int,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Weights ``[D, C]`` and bias ``[C]`` minimising the mean
    cross-entropy plus ``weight_decay / 2 * ||W||^2`` (L-BFGS)."""
    weight = torch.zeros(x.shape[1], num_classes, dtype=torch.float32)
    bias = torch.zeros(num_classes, dtype=torch.float32)
    weight.requires_grad_(True)
    bias.requires_grad_(True)
    y = y.long()
    optimizer = torch.optim.LBFGS(
        [weight, bias],
        lr=1.0,
        max_iter=max_iter,
        tolerance_grad=1e-6,
        tolerance_change=1e-10,
        history_size=20,
        line_search_fn='strong_wolfe',
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(x @ weight + bias, y)
        loss = loss + 0.5 * weight_decay * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return weight.detach(), bias.detach()


def linear_probe(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    weight_decays: Sequence[float] = (1e-4, 1e-3, 1e-2, 1e-1),
    max_iter: int = 100,
    num_val: int = 10000,
    seed: int = 0,
) -> ProbeResult:
    """Logistic regression on standardised features, L2 chosen on a
    validation split and then refit on all training samples.

    Args:
        train_x (torch.Tensor): Training features ``[N, D]``.
        train_y (torch.Tensor): Training labels ``[N]``.
        test_x (torch.Tensor): Test features ``[M, D]``.
        test_y (torch.Tensor): Test labels ``[M]``.
        weight_decays (Sequence[float]): Candidate L2 strengths.
        max_iter (int): L-BFGS iterations per fit.
        num_val (int): Training samples held out to choose the L2.
        seed (int): Seed of the validation split.

    Returns:
        ProbeResult: Test top-1 of the refit classifier.
    """
    num_classes = int(train_y.max()) + 1
    # Standardise with training statistics (what the MAE probe's
    # BatchNorm without affine does at test time).
    mean = train_x.mean(0)
    std = train_x.std(0).clamp_min(1e-6)
    train_z = (train_x - mean) / std
    test_z = (test_x - mean) / std
    fit, val = split_validation(len(train_x), num_val, seed)
    scores = {}
    for wd in weight_decays:
        weight, bias = _fit_logistic(
            train_z[fit], train_y[fit], num_classes, wd, max_iter
        )
        pred = (train_z[val] @ weight + bias).argmax(1)
        scores[f'wd={wd:g}'] = _accuracy(pred, train_y[val])
    best = max(weight_decays, key=lambda wd: (scores[f'wd={wd:g}'], wd))
    weight, bias = _fit_logistic(train_z, train_y, num_classes, best, max_iter)
    pred = (test_z @ weight + bias).argmax(1)
    return ProbeResult(
        _accuracy(pred, test_y), dict(weight_decay=best), scores
    )
