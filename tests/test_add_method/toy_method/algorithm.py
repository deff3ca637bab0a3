# Copyright (c) mmmim contributors. All rights reserved.
"""The toy algorithm: encode, decode, score."""

from typing import Dict, Optional

import torch

from mmmim.models import BaseMIM

from . import TOY_MODELS


@TOY_MODELS.register_module()
class ToyMIM(BaseMIM):
    """Backbone -> neck -> head, as every mmmim algorithm."""

    def reconstruct(
        self, inputs: torch.Tensor, mask: Optional[torch.Tensor] = None
    ) -> Dict[str, torch.Tensor]:
        feats, mask = self.backbone(inputs, mask)
        pred = self.neck(feats)
        target = self.head.target(inputs)
        loss = self.head.loss_from_target(pred, target, mask)
        return dict(pred=pred, target=target, mask=mask, loss=loss)
