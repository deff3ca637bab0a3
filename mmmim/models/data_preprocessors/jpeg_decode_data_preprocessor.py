# Copyright (c) mmmim contributors. All rights reserved.
"""Decode JPEGs on the model's device, then normalise."""

import torch
from mmpretrain.models.utils.data_preprocessor import (
    SelfSupDataPreprocessor,
)

from mmmim.datasets.transforms.device_decode import decode_and_crop
from mmmim.registry import MODELS

__all__ = ['JpegDecodeDataPreprocessor']


@MODELS.register_module()
class JpegDecodeDataPreprocessor(SelfSupDataPreprocessor):
    """mmpretrain's ``SelfSupDataPreprocessor`` for files packed by
    ``LoadJpegForDeviceDecode``: decodes them on the model's device (nvJPEG
    on a GPU), crops, resizes and flips as their recipes say, then
    normalises.

    The batch is RGB; ``to_rgb=True`` (the configs' setting for mmcv's BGR
    images) keeps it so, ``to_rgb=False`` gives BGR as mmcv would.

    Args:
        mean (Sequence[float], optional): Per-channel mean (0-255 scale).
        std (Sequence[float], optional): Per-channel std.
        to_rgb (bool): As in ``SelfSupDataPreprocessor``.
            Defaults to False.
        **kwargs: Other ``SelfSupDataPreprocessor`` arguments.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        """Decode, crop, normalise.

        Args:
            data (dict): ``inputs``: a list of 1-D uint8 tensors (the files,
                batched by ``pseudo_collate``); ``data_samples`` with the
                ``device_decode`` recipe in their metainfo.
            training (bool): Unused. Defaults to False.

        Returns:
            dict: ``inputs`` ``[B, 3, h, w]`` float on the device and the
            samples.
        """
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        samples = data.get('data_samples')
        if not samples:
            raise ValueError(
                'JpegDecodeDataPreprocessor needs the data samples with '
                "their 'device_decode' recipe: pack them with PackInputs("
                "meta_keys=(..., 'device_decode'))"
            )
        recipes = [sample.metainfo['device_decode'] for sample in samples]
        batch = decode_and_crop(inputs, recipes, self.device)
        if not self._channel_conversion:
            batch = batch.flip(1)  # the BGR order of mmcv's loader
        if self._enable_normalize:
            batch = (batch - self.mean) / self.std
        return {'inputs': batch, 'data_samples': self.cast_data(samples)}
