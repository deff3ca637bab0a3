# Copyright (c) mmmim contributors. All rights reserved.
"""Inferencers on mmengine's ``BaseInferencer`` (the mmpretrain pattern).

``FeatureInferencer('mae_vit-base-p16_...', weights='ckpt.pth')(inputs)``
and ``ReconstructionInferencer`` build the model by zoo name or config,
load an mmmim or official checkpoint, and take every input kind of
:mod:`mmmim.apis.inputs` (folders are searched recursively).
"""

import os.path as osp
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.infer import BaseInferencer

from mmmim.visualization import (
    PANEL_TITLES,
    reconstruct_tensors,
    save_panels,
)

from .features import encode, get_backbone, input_geometry
from .inputs import Batch, iter_batches
from .model_zoo import _resolve_config, init_model
from .reconstruct import IMAGE_KEYS, reconstruct

__all__ = ['FeatureInferencer', 'ReconstructionInferencer']


class _MIMInferencer(BaseInferencer):
    """Model by zoo name or config, any checkpoint format, mmmim inputs."""

    preprocess_kwargs: set = {'on_error', 'frame_interval'}

    def __init__(
        self,
        model: Any,
        weights: Optional[str] = None,
        device: Optional[str] = None,
        show_progress: bool = False,
    ) -> None:
        super().__init__(
            model, weights, device or 'cpu', 'mmmim', show_progress
        )

    def _load_model_from_metafile(self, model: str) -> Tuple[Any, None]:
        return _resolve_config(model), None

    def _init_model(
        self, cfg: Any, weights: Optional[str], device: str = 'cpu'
    ) -> nn.Module:
        return init_model(cfg, weights, device=device)

    def _init_pipeline(self, cfg: Any) -> Callable:
        return lambda item: item  # iter_batches reads and normalises

    def _init_collate(self, cfg: Any) -> Callable:
        return lambda batch: batch

    def _init_visualizer(self, cfg: Any) -> None:
        return None

    def _inputs_to_list(self, inputs: Any) -> list:
        # Folders stay folders: iter_batches searches them recursively for
        # the files the model takes (mmengine lists every file, one level).
        if isinstance(inputs, (list, tuple)):
            return list(inputs)
        return [inputs]

    def preprocess(
        self,
        inputs: list,
        batch_size: int = 1,
        on_error: str = 'raise',
        frame_interval: int = 2,
    ) -> Iterator[Batch]:
        yield from iter_batches(
            self.model, inputs, batch_size, on_error, frame_interval
        )

    def postprocess(
        self,
        preds: List[dict],
        visualization: Optional[List[str]] = None,
        return_datasamples: bool = False,
    ) -> Dict[str, list]:
        return dict(predictions=preds, visualization=visualization or [])


class FeatureInferencer(_MIMInferencer):
    """Frozen features (masking off) of images, clips or tensors.

    Example::

        >>> inferencer = FeatureInferencer(config_or_name, weights=ckpt)
        >>> out = inferencer('photos/', pool='avg', batch_size=8)
        >>> out['predictions'][0]['feature'].shape  # (D,)

    Call arguments: ``pool`` (``'cls'``, ``'avg'``, ``'none'``),
    ``out_indices``, ``batch_size``, ``on_error``, ``frame_interval``.
    Each prediction is ``dict(name, feature)`` (a list of features for a
    sequence of ``out_indices``).
    """

    forward_kwargs: set = {'pool', 'out_indices'}

    @torch.no_grad()
    def forward(
        self, data: Batch, pool: str = 'cls', out_indices: Any = -1
    ) -> List[dict]:
        names, _, inputs = data
        outs = encode(self.model, inputs, pool, out_indices)
        if isinstance(out_indices, int):
            return [
                dict(name=n, feature=f.cpu().numpy())
                for n, f in zip(names, outs)
            ]
        per_sample = zip(*(out.cpu().numpy() for out in outs))
        return [
            dict(name=n, feature=list(f)) for n, f in zip(names, per_sample)
        ]

    def visualize(self, inputs: list, preds: List[dict], **kwargs) -> None:
        return None


class ReconstructionInferencer(_MIMInferencer):
    """Masked reconstructions of images (panels) or clips (frame rows).

    Call arguments: ``mask_ratio``, ``seed``, ``batch_size``,
    ``on_error``, ``frame_interval`` and ``out_dir`` (write one PNG per
    sample). Each prediction is a dict as returned by
    :func:`~mmmim.apis.reconstruct`.
    """

    forward_kwargs: set = {'mask_ratio', 'seed'}
    visualize_kwargs: set = {'out_dir'}

    def __call__(self, inputs: Any, batch_size: int = 1, **kwargs) -> dict:
        is_video, _ = input_geometry(get_backbone(self.model))
        if is_video:  # clips: the strip pipeline of reconstruct()
            mask_ratio = kwargs.get('mask_ratio')
            results = reconstruct(
                self.model,
                inputs,
                mask_ratio=mask_ratio,
                seed=kwargs.get('seed', 0),
                save_dir=kwargs.get('out_dir'),
                batch_size=batch_size,
                on_error=kwargs.get('on_error', 'raise'),
                frame_interval=kwargs.get('frame_interval', 2),
            )
            return dict(predictions=results, visualization=[])
        self._batch_index = 0
        return super().__call__(inputs, batch_size=batch_size, **kwargs)

    @torch.no_grad()
    def forward(
        self, data: Batch, mask_ratio: Optional[float] = None, seed: int = 0
    ) -> List[dict]:
        names, _, inputs = data
        panels, caption = reconstruct_tensors(
            self.model, inputs, mask_ratio, seed + self._batch_index
        )
        self._batch_index += 1
        self._caption = caption
        return [
            dict(
                name=name,
                mask=panel['mask'],
                panel=panel,
                **dict(zip(IMAGE_KEYS, (panel[t] for t in PANEL_TITLES))),
            )
            for name, panel in zip(names, panels)
        ]

    def visualize(
        self, inputs: list, preds: List[dict], out_dir: Optional[str] = None
    ) -> List[str]:
        if out_dir is None:
            return []
        files = []
        for index, pred in enumerate(preds):
            stem = osp.splitext(osp.basename(pred['name']))[0]
            out_file = osp.join(out_dir, f'{index:04d}_{stem}.png')
            save_panels([pred.pop('panel')], out_file, [stem], self._caption)
            files.append(out_file)
        return files

    def postprocess(
        self,
        preds: List[dict],
        visualization: Optional[List[str]] = None,
        return_datasamples: bool = False,
    ) -> Dict[str, list]:
        for pred in preds:
            pred.pop('panel', None)
        return super().postprocess(preds, visualization, return_datasamples)
