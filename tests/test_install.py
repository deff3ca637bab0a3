# Copyright (c) mmmim contributors. All rights reserved.
"""The installed stack: compiled mmcv ops and the pinned versions."""

import torch


def test_compiled_mmcv_ops_run():
    from mmcv.ops import RoIAlign, nms

    boxes = torch.tensor(
        [
            [0.0, 0.0, 10.0, 10.0],
            [1.0, 1.0, 10.0, 10.0],
            [20.0, 20.0, 30.0, 30.0],
        ]
    )
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    # RoIAlign of a constant map is that constant.
    feat = torch.full((1, 1, 8, 8), 3.0)
    rois = torch.tensor([[0.0, 1.0, 1.0, 6.0, 6.0]])
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2)(feat, rois)
    assert torch.allclose(out, torch.full((1, 1, 2, 2), 3.0))


def test_openmmlab_packages_import():
    import mmcv
    import mmdet
    import mmdet.models  # noqa: F401
    import mmengine
    import mmpretrain
    import mmpretrain.models  # noqa: F401

    import mmmim

    assert mmcv.__version__ == '2.1.0'
    assert mmengine.__version__ == '0.10.7'
    assert mmdet.__version__ == '3.3.0'
    assert mmpretrain.__version__ == '1.2.0'
    assert mmmim.version_info[:2] == (0, 1)
