# Copyright (c) mmmim contributors. All rights reserved.
from .knn_accuracy import KNNAccuracy

__all__ = ['KNNAccuracy']
