# Copyright (c) mmmim contributors. All rights reserved.
from .knn import topk_accuracy, weighted_knn_classify, weighted_knn_scores

__all__ = ['topk_accuracy', 'weighted_knn_classify', 'weighted_knn_scores']
