# Copyright (c) mmmim contributors. All rights reserved.
"""Export an mmmim MAE/SimMIM encoder or ViT/Swin classifier to timm.

The rules are in ``mmmim/utils/exports/timm.py``. Usage::

    python tools/model_converters/mmmim_to_timm.py CONFIG CHECKPOINT DST

DST (``.pth`` or ``.safetensors``) holds the flat timm state dict; the
printed ``timm.create_model(...)`` call builds the model it loads into
strictly. Pre-training decoders and mask tokens are not exported.
"""

import argparse
import sys

from mmmim.utils.exports.common import (
    check_paths,
    load_mmmim_model,
    save_weights_file,
)
from mmmim.utils.exports.timm import export_to_timm


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='mmmim config of the model')
    parser.add_argument('checkpoint', help='mmmim checkpoint')
    parser.add_argument('dst', help='output .pth or .safetensors file')
    parser.add_argument(
        '--trust', action='store_true', help='allow full unpickling'
    )
    args = parser.parse_args(argv)
    check_paths(args.checkpoint, args.dst)
    model = load_mmmim_model(args.config, args.checkpoint, args.trust)
    timm_model, meta = export_to_timm(model)
    save_weights_file(timm_model.state_dict(), args.dst)
    kwargs = ', '.join(f'{k}={v!r}' for k, v in meta['kwargs'].items())
    print(f'Saved {len(timm_model.state_dict())} tensors to {args.dst}')
    if meta['dropped']:
        print(
            f'Not exported (no place in timm): {len(meta["dropped"])} '
            f'tensors, e.g. {meta["dropped"][:3]}'
        )
    print(
        f"timm.create_model('{meta['model_name']}', pretrained=False, "
        f'{kwargs})'
    )


if __name__ == '__main__':
    sys.exit(main())
