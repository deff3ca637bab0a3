# Copyright (c) mmmim contributors. All rights reserved.
"""mmmim models to timm and Hugging Face ``transformers``, and back.

* :mod:`.timm`: ``MAEViT`` (MAE encoders, fine-tuned ViT classifiers),
  ``SimMIMViT`` (timm BEiT) and ``SimMIMSwin`` (timm Swin), both ways.
* :mod:`.hf_vitmae`: the ``MAE`` algorithm (encoder, decoder, pixel loss)
  <-> ``transformers.ViTMAEForPreTraining``.
* :mod:`.hf_videomae`: the ``VideoMAE`` algorithm <->
  ``VideoMAEForPreTraining`` and the fine-tuned ``VideoClassifier`` <->
  ``VideoMAEForVideoClassification``.

Each follows :mod:`..converters`: tables of rename rules applied by
:func:`..converter_utils.rename_keys`. The command lines are
``tools/model_converters/{mmmim_to_timm,timm_to_mmmim,mmmim_to_hf,
hf_to_mmmim}.py``; ``docs/en/export.md`` is the user guide.
"""

from .common import ExportError

__all__ = ['ExportError']
