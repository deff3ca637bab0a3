# Copyright (c) mmmim contributors. All rights reserved.
"""Use mmmim models from Python: build by name, load any checkpoint format,
reconstruct, extract features (``docs/en/python_api.md``)."""

from .checkpoint import detect_format, load_model_checkpoint, model_method
from .extract import extract_features
from .features import POOLS, encode, encode_pools
from .inferencers import FeatureInferencer, ReconstructionInferencer
from .model_zoo import get_model, init_model, list_models, model_info
from .reconstruct import reconstruct

__all__ = [
    'POOLS',
    'FeatureInferencer',
    'ReconstructionInferencer',
    'detect_format',
    'encode',
    'encode_pools',
    'extract_features',
    'get_model',
    'init_model',
    'list_models',
    'load_model_checkpoint',
    'model_info',
    'model_method',
    'reconstruct',
]
