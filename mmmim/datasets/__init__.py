# Copyright (c) mmmim contributors. All rights reserved.
from .idx_dataset import FashionMNIST, IDXDataset, read_idx  # noqa: F401
from .transforms import *  # noqa: F401,F403
