# Copyright (c) mmmim contributors. All rights reserved.
"""Convert a timm ViT, BEiT or Swin state dict to an mmmim checkpoint.

The rules are in ``mmmim/utils/exports/timm.py``. Usage::

    python tools/model_converters/timm_to_mmmim.py SRC DST [--config CFG]

SRC is a ``.pth``/``.safetensors`` file of ``timm_model.state_dict()``.
With ``--config`` the result is loaded strictly into that config's model
first (``MAEViT``/``SimMIMViT``/``SimMIMSwin`` encoders or classifiers).
"""

import argparse
import sys

from mmmim.utils.converter_utils import save_converted
from mmmim.utils.exports.common import (
    build_model_from_config,
    check_paths,
    check_strict_load,
    load_weights_file,
)
from mmmim.utils.exports.timm import from_timm_state_dict


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='timm state dict (.pth, .safetensors)')
    parser.add_argument('dst', help='output mmmim checkpoint')
    parser.add_argument('--config', help='check a strict load into it')
    parser.add_argument(
        '--trust', action='store_true', help='allow full unpickling of SRC'
    )
    args = parser.parse_args(argv)
    check_paths(args.src, args.dst)
    state = load_weights_file(args.src, trust=args.trust)
    converted, meta = from_timm_state_dict(state, args.src)
    if args.config:
        model = build_model_from_config(args.config)
        check_strict_load(model, converted, f'converted {args.src!r}')
    meta['converted_from'] = args.src.rsplit('/', 1)[-1]
    save_converted(converted, args.dst, meta)
    print(
        f'Converted {len(converted)} tensors (timm {meta["kind"]}, '
        f'{meta["arch"]}) to {args.dst}'
    )


if __name__ == '__main__':
    sys.exit(main())
