# Copyright (c) mmmim contributors. All rights reserved.
"""Convert a Hugging Face ViTMAE or VideoMAE model to an mmmim checkpoint.

The rules are in ``mmmim/utils/exports/hf_{vitmae,videomae}.py``. Usage::

    python tools/model_converters/hf_to_mmmim.py SRC DST [--config CFG]

SRC is a ``save_pretrained`` folder or its ``.safetensors``/``.bin`` file
(never a hub id: nothing is downloaded). With ``--config`` the result is
loaded strictly into that config's model first.
"""

import argparse
import sys

from mmmim.utils.converter_utils import save_converted
from mmmim.utils.exports import hf_videomae, hf_vitmae
from mmmim.utils.exports.common import (
    build_model_from_config,
    check_paths,
    check_strict_load,
    read_hf_folder,
)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='save_pretrained folder or weights file')
    parser.add_argument('dst', help='output mmmim checkpoint')
    parser.add_argument('--config', help='check a strict load into it')
    args = parser.parse_args(argv)
    check_paths(args.src, args.dst)
    state, config = read_hf_folder(args.src)
    video = config.get('model_type') == 'videomae' or any(
        k.startswith('videomae.') for k in state
    )
    module = hf_videomae if video else hf_vitmae
    converted, meta = module.from_hf_state_dict(state, args.src)
    if args.config:
        model = build_model_from_config(args.config)
        check_strict_load(model, converted, f'converted {args.src!r}')
    meta['converted_from'] = args.src.rstrip('/').rsplit('/', 1)[-1]
    save_converted(converted, args.dst, meta)
    print(f'Converted {len(converted)} tensors ({meta}) to {args.dst}')


if __name__ == '__main__':
    sys.exit(main())
