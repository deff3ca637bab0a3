# Copyright (c) mmmim contributors. All rights reserved.
"""tools/analysis_tools/get_flops.py on an mmseg downstream config."""

import importlib.util

import pytest
from mmengine.config import Config

from ..installed import require
from .conftest import REPO_ROOT

TOOL = 'tools/analysis_tools/get_flops.py'
UPERNET = (
    'configs/mae/benchmarks/mmseg/'
    'upernet_vit-base-p16_8xb2-amp-160k_ade20k-512x512.py'
)


def test_upernet_parts_and_parameters():
    require('mmseg')
    spec = importlib.util.spec_from_file_location(
        'get_flops', REPO_ROOT / TOOL
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    model = tool.build_model(Config.fromfile(str(REPO_ROOT / UPERNET)))
    # A small input keeps the test fast; parameters do not depend on it.
    result = tool.analyse(model, (64, 64))
    macs, params = result['macs'], result['params']
    assert {'backbone', 'neck', 'decode_head'} <= set(macs)
    assert macs['decode_head'] > 0 and macs['backbone'] > 0
    parts = sum(v for k, v in macs.items() if k != 'total')
    # The trace attributes a few ops (0.04 %) to the model itself.
    assert parts == pytest.approx(macs['total'], rel=0.01)
    # MAE's UperNet ViT-B: 163 M parameters (ConvMAE README table).
    assert params['total'] / 1e6 == pytest.approx(163.3, abs=0.5)
