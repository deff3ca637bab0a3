# Copyright (c) mmmim contributors. All rights reserved.
"""Official checkpoints of each method to mmmim's keys.

Each module is a table of rename rules (:data:`..converter_utils.Rule`)
with the checks and geometry of its method. Its ``convert(state_dict,
source='checkpoint')`` takes the flat official weights (``source`` names
them in errors) and returns the converted weights (copies) and a meta dict
(the geometry, for the report); ``summary(state_dict, meta)`` is the line
the command line (``tools/model_converters``) prints.
"""

from typing import Dict

from ..converter_utils import unwrap_state_dict
from . import convmae, mae, simmim, videomae

CONVERTERS = dict(mae=mae, simmim=simmim, convmae=convmae, videomae=videomae)


def convert_state_dict(checkpoint: Dict, method: str) -> Dict:
    """Official weights of ``method`` -> mmmim weights, in memory.

    Args:
        checkpoint (dict): An official state dict, or a loaded checkpoint
            that holds it under ``'model'``, ``'module'`` or
            ``'state_dict'``.
        method (str): One of :data:`CONVERTERS`.

    Returns:
        dict: The converted state dict (``backbone.*``, ``neck.*`` or
        ``head.fc.*`` keys).
    """
    if method not in CONVERTERS:
        raise KeyError(
            f'no converter for {method!r}; known: {list(CONVERTERS)}'
        )
    return CONVERTERS[method].convert(unwrap_state_dict(checkpoint))[0]


__all__ = ['CONVERTERS', 'convert_state_dict']
