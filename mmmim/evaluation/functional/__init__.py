# Copyright (c) mmmim contributors. All rights reserved.
from .knn import (
    topk_accuracy,
    weighted_knn_classify,
    weighted_knn_scores,
    weighted_knn_scores_per_k,
)

__all__ = [
    'topk_accuracy',
    'weighted_knn_classify',
    'weighted_knn_scores',
    'weighted_knn_scores_per_k',
]
