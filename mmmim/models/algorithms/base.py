# Copyright (c) mmmim contributors. All rights reserved.
"""The base of every masked image modeling algorithm."""

import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.structures import BaseDataElement

from mmmim.registry import MODELS

from ..utils import build_in_mmmim
from . import eager_ops

__all__ = ['BaseMIM']

#: ImageNet normalisation on RGB, as every official MIM recipe uses.
DEFAULT_DATA_PREPROCESSOR = dict(
    type='mmpretrain.SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,
)

Inputs = Union[torch.Tensor, Sequence[torch.Tensor]]


class BaseMIM(BaseModel):
    """Backbone -> neck -> head composition with a mask.

    Subclasses implement :meth:`reconstruct`; the training loss, the
    ``'predict'`` and ``'tensor'`` modes are built on it. A mask comes from
    the data pipeline (``data_samples[i].mask``, e.g. written by
    ``GenerateMask`` and packed with ``PackInputs(algorithm_keys=['mask'])``)
    or, when absent, is drawn by the backbone.

    Args:
        backbone (dict): Backbone config.
        neck (dict, optional): Neck (decoder) config. Defaults to None.
        head (dict, optional): Head config. Defaults to None.
        data_preprocessor (dict, optional): Data preprocessor config.
            Defaults to None: ``default_data_preprocessor``, for images
            ``mmpretrain.SelfSupDataPreprocessor`` with the ImageNet mean and
            std and BGR-to-RGB conversion.
        init_cfg (dict | list, optional): Init config. Defaults to None.
    """

    #: Used when the config gives no ``data_preprocessor``.
    default_data_preprocessor: dict = DEFAULT_DATA_PREPROCESSOR

    def __init__(
        self,
        backbone: dict,
        neck: Optional[dict] = None,
        head: Optional[dict] = None,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[Union[dict, list]] = None,
    ) -> None:
        if data_preprocessor is None:
            data_preprocessor = self.default_data_preprocessor
        super().__init__(
            data_preprocessor=copy.deepcopy(data_preprocessor),
            init_cfg=init_cfg,
        )
        # Built in mmmim's scope whatever the caller's default scope is.
        self.backbone = build_in_mmmim(MODELS, backbone)
        self.neck = build_in_mmmim(MODELS, neck) if neck else None
        self.head = build_in_mmmim(MODELS, head) if head else None
        self.check_geometry()

    def check_geometry(self) -> None:
        """Raise a ValueError naming the config keys if the backbone, neck
        and head disagree on the geometry (token count, patch size, width);
        subclasses that know their parts check them. Defaults to no check.
        """

    def train_step(
        self, data: Union[dict, tuple, list], optim_wrapper: OptimWrapper
    ) -> Dict[str, torch.Tensor]:
        """One training iteration, as mmengine's, ready for ``compile``.

        With ``compile`` set in a config, mmengine's runner wraps this
        method in ``torch.compile``; then the forward pass and the loss
        (:meth:`loss`, as ``forward(mode='loss')`` calls it) are compiled,
        and with them the backward graph. The data preprocessor, entering
        the optimizer wrapper's context (autocast) and its update
        (``loss.backward()``, gradient clipping, the optimizer step and
        the hooks on it) stay eager (:mod:`.eager_ops`). Without
        ``compile`` this is mmengine's ``BaseModel.train_step``.

        Args:
            data (dict | tuple | list): A batch from the dataloader.
            optim_wrapper (OptimWrapper): Updates the parameters.

        Returns:
            Dict[str, torch.Tensor]: The loss terms to log.
        """
        imgs, mask = eager_ops.preprocess(self, data, self._split_inputs)
        context = eager_ops.enter_optim_context(optim_wrapper, self)
        losses = self.loss(imgs, mask)
        eager_ops.exit_optim_context(context)
        parsed_losses, log_vars = self.parse_losses(losses)
        eager_ops.update_params(optim_wrapper, parsed_losses)
        return log_vars

    def reconstruct(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """Reconstruct masked inputs.

        The result is deterministic given the weights and ``mask`` (in eval
        mode, or without drop path).

        Args:
            inputs (torch.Tensor): Normalised images ``[B, C, H, W]``.
            mask (torch.Tensor, optional): Bool ``[B, L]``, True = masked.
                Defaults to None (drawn by the backbone).

        Returns:
            dict: ``pred`` and ``target`` ``[B, L, P]`` in the target's
            space, the ``mask`` used and the scalar ``loss``.
        """
        raise NotImplementedError

    def forward(
        self,
        inputs: Inputs,
        data_samples: Optional[List[BaseDataElement]] = None,
        mode: str = 'tensor',
    ) -> Union[
        Dict[str, torch.Tensor],
        List[BaseDataElement],
        Tuple[torch.Tensor, ...],
    ]:
        """The mmengine entry point.

        Args:
            inputs (torch.Tensor | Sequence[torch.Tensor]): Images
                ``[B, C, H, W]``, or a list of views of which the first is
                used (as ``SelfSupDataPreprocessor`` emits).
            data_samples (List[BaseDataElement], optional): Per-sample data,
                possibly with a ``mask``. Defaults to None.
            mode (str): ``'loss'`` -> dict of losses, ``'predict'`` -> data
                samples with ``pred``, ``target`` and ``mask``,
                ``'tensor'`` -> the backbone output. Defaults to 'tensor'.

        Returns:
            dict | list | tuple: See ``mode``.
        """
        imgs, mask = self._split_inputs(inputs, data_samples)
        if mode == 'loss':
            return self.loss(imgs, mask)
        if mode == 'predict':
            return self.predict(imgs, mask, data_samples)
        if mode == 'tensor':
            return self.extract_feat(imgs, mask)
        raise ValueError(
            f'invalid mode {mode!r}; choose from '
            "'loss', 'predict' and 'tensor'"
        )

    def extract_feat(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> tuple:
        """Run the backbone.

        Args:
            inputs (torch.Tensor): Images ``[B, C, H, W]``.
            mask (torch.Tensor, optional): Bool ``[B, L]``.
                Defaults to None.

        Returns:
            tuple: The backbone output.
        """
        return self.backbone(inputs, mask)

    def loss(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        """The training loss.

        Args:
            inputs (torch.Tensor): Images ``[B, C, H, W]``.
            mask (torch.Tensor, optional): Bool ``[B, L]``.
                Defaults to None.

        Returns:
            Dict[str, torch.Tensor]: ``dict(loss=scalar)``.
        """
        return dict(loss=self.reconstruct(inputs, mask)['loss'])

    def predict(
        self,
        inputs: torch.Tensor,
        mask: Optional[torch.Tensor] = None,
        data_samples: Optional[List[BaseDataElement]] = None,
    ) -> List[BaseDataElement]:
        """Reconstruct and attach the results to per-sample data.

        Args:
            inputs (torch.Tensor): Images ``[B, C, H, W]``.
            mask (torch.Tensor, optional): Bool ``[B, L]``.
                Defaults to None.
            data_samples (List[BaseDataElement], optional): Samples to fill;
                new ones are made when None. Defaults to None.

        Returns:
            List[BaseDataElement]: Samples with ``pred`` ``[L, P]``,
            ``target`` and ``mask`` ``[L]``.
        """
        out = self.reconstruct(inputs, mask)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(len(inputs))]
        for i, sample in enumerate(data_samples):
            sample.set_field(out['pred'][i], 'pred')
            sample.set_field(out['target'][i], 'target')
            sample.set_field(out['mask'][i], 'mask')
        return data_samples

    def _split_inputs(
        self,
        inputs: Inputs,
        data_samples: Union[List[BaseDataElement], torch.Tensor, None] = None,
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """The images (the first view) and the stacked pipeline masks
        (``data_samples`` may also be the stacked mask itself, as the
        distributed wrapper passes it)."""
        imgs = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        if isinstance(data_samples, torch.Tensor):
            return imgs, data_samples
        return imgs, self._stack_masks(data_samples, imgs.device)

    @staticmethod
    def _stack_masks(
        data_samples: Optional[List[BaseDataElement]], device: torch.device
    ) -> Optional[torch.Tensor]:
        """Stack per-sample masks from the pipeline into ``[B, L]``."""
        if not data_samples:
            return None
        masks = [getattr(sample, 'mask', None) for sample in data_samples]
        missing = sum(mask is None for mask in masks)
        if missing == len(masks):
            return None
        if missing:
            # Mixing pipeline masks with model-drawn ones would silently
            # change the masking of part of the batch.
            raise ValueError(
                f'{missing} of {len(masks)} data samples have no `mask`; '
                'give every sample one (GenerateMask + '
                "PackInputs(algorithm_keys=['mask'])) or none"
            )
        if isinstance(masks[0], np.ndarray):
            stacked = torch.from_numpy(np.stack(masks))
        else:
            stacked = torch.stack([torch.as_tensor(mask) for mask in masks])
        return stacked.reshape(len(masks), -1).to(device, torch.bool)
