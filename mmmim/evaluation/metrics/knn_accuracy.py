# Copyright (c) mmmim contributors. All rights reserved.
"""Weighted kNN accuracy of frozen features, as an mmengine metric."""

from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmmim.registry import METRICS

from ..functional import topk_accuracy, weighted_knn_scores

__all__ = ['KNNAccuracy']

SPLITS = ('bank', 'query')


@METRICS.register_module()
class KNNAccuracy(BaseMetric):
    """Top-k accuracy of a weighted cosine kNN classifier (DINO protocol).

    **Where the bank comes from.** Both the labelled bank and the queries
    go through :meth:`process`, each sample tagged with its split; nothing
    is handed to the metric out of band. So mmengine's ``evaluate`` gathers
    the two splits across ranks in one go, and :meth:`compute_metrics`
    separates them again. A result is a dict::

        dict(
            feat=Tensor[D],       # the sample's frozen feature
            gt_label=int,         # or a one-element tensor
            split='bank',         # or 'query'
            sample_idx=int,       # optional: index within its split
        )

    :class:`~mmmim.engine.hooks.OnlineKNNHook` produces these. Distributed
    samplers pad the last batch with repeated samples; when every result
    has a ``sample_idx``, repeats of the same ``(split, sample_idx)`` are
    dropped, so the bank and the query set count each sample once (without
    it, padding duplicates would vote or be scored twice).

    The queries are classified by
    :func:`~mmmim.evaluation.functional.weighted_knn_scores` and scored by
    :func:`~mmmim.evaluation.functional.topk_accuracy` (ties go to the
    smaller class index). A ``k`` of ``topk`` that is at least the number
    of classes is always 100; it is left out with a warning.

    Args:
        k (int): Neighbours per query. Defaults to 20.
        temperature (float): Vote weights ``exp(cos / T)``.
            Defaults to 0.07.
        topk (int | Sequence[int]): Report top-k accuracy for these.
            Defaults to (1, 5).
        num_classes (int, optional): Defaults to None: the largest label
            of the bank and queries + 1.
        chunk_size (int): Queries per similarity block. Defaults to 256.
        device (str, optional): Where the kNN runs. Defaults to None: the
            current CUDA device if there is one, else the CPU.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for gathering the
            results across ranks. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the keys. Defaults to None:
            ``'knn'``, so the keys are ``knn/top1``, ``knn/top5``.
    """

    default_prefix: Optional[str] = 'knn'

    def __init__(
        self,
        k: int = 20,
        temperature: float = 0.07,
        topk: Sequence[int] = (1, 5),
        num_classes: Optional[int] = None,
        chunk_size: int = 256,
        device: Optional[str] = None,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.k = k
        self.temperature = temperature
        self.topk = (topk,) if isinstance(topk, int) else tuple(topk)
        if not self.topk or min(self.topk) < 1:
            raise ValueError(f'topk must be positive ints, got {topk}')
        self.num_classes = num_classes
        self.chunk_size = chunk_size
        self.device = device

    def process(
        self, data_batch: Any, data_samples: Sequence[Dict[str, Any]]
    ) -> None:
        """Keep the feature, label, split and index of each sample.

        Args:
            data_batch (Any): Unused (the features are in ``data_samples``).
            data_samples (Sequence[dict]): One dict per sample; see the
                class documentation.
        """
        for sample in data_samples:
            split = sample['split']
            if split not in SPLITS:
                raise ValueError(f'split must be in {SPLITS}, got {split!r}')
            result = dict(
                feat=sample['feat'].detach().float().cpu(),
                gt_label=int(sample['gt_label']),
                split=split,
            )
            if sample.get('sample_idx') is not None:
                result['sample_idx'] = int(sample['sample_idx'])
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Classify the queries against the bank.

        Args:
            results (List[dict]): Every rank's processed samples.

        Returns:
            Dict[str, float]: ``top{k}`` accuracies in percent.
        """
        (bank_x, bank_y), (query_x, query_y) = (
            self._stack(results, split) for split in SPLITS
        )
        if len(query_x) == 0:
            raise ValueError('KNNAccuracy got no query samples')
        num_classes = self.num_classes
        if num_classes is None:
            num_classes = int(torch.cat([bank_y, query_y]).max()) + 1
        device = self.device
        if device is None:
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        scores = weighted_knn_scores(
            bank_x.to(device),
            bank_y.to(device),
            query_x.to(device),
            k=self.k,
            temperature=self.temperature,
            num_classes=num_classes,
            chunk_size=self.chunk_size,
        )
        kept = [k for k in self.topk if k < num_classes]
        if len(kept) < len(self.topk):
            print_log(
                f'KNNAccuracy: top-k for k >= {num_classes} classes is '
                f'always 100; reporting only top{kept} of top{self.topk}',
                logger='current',
            )
        accuracy = topk_accuracy(scores, query_y.to(device), kept or [1])
        return {f'top{k}': value for k, value in accuracy.items()}

    @staticmethod
    def _stack(
        results: List[dict], split: str
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Features ``[N, D]`` and labels ``[N]`` of one split, without
        the repeats that distributed padding adds."""
        rows = [r for r in results if r['split'] == split]
        if rows and all('sample_idx' in r for r in rows):
            unique = {r['sample_idx']: r for r in rows}
            rows = [unique[i] for i in sorted(unique)]
        if not rows:
            return torch.zeros(0, 0), torch.zeros(0, dtype=torch.long)
        feats = torch.stack([r['feat'] for r in rows])
        labels = torch.tensor([r['gt_label'] for r in rows])
        return feats, labels
