# Copyright (c) mmmim contributors. All rights reserved.
"""Export an mmmim MAE or VideoMAE model to a Hugging Face folder.

The rules are in ``mmmim/utils/exports/hf_{vitmae,videomae}.py``. Usage::

    python tools/model_converters/mmmim_to_hf.py CONFIG CHECKPOINT OUT_DIR

``MAE`` -> ``ViTMAEForPreTraining``; ``VideoMAE`` ->
``VideoMAEForPreTraining``; a fine-tuned ``VideoClassifier`` ->
``VideoMAEForVideoClassification``. OUT_DIR is written by
``save_pretrained`` into a temporary folder that is then renamed, and
``from_pretrained(OUT_DIR)`` loads it.
"""

import argparse
import os
import os.path as osp
import shutil
import sys

from mmmim.utils.exports.common import check_paths, load_mmmim_model
from mmmim.utils.exports.hf_videomae import export_to_videomae
from mmmim.utils.exports.hf_vitmae import export_to_vitmae


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='mmmim config of the model')
    parser.add_argument('checkpoint', help='mmmim checkpoint')
    parser.add_argument('out_dir', help='output folder (must not exist)')
    parser.add_argument(
        '--trust', action='store_true', help='allow full unpickling'
    )
    args = parser.parse_args(argv)
    check_paths(args.checkpoint, args.out_dir, dst_is_dir=True)
    if osp.exists(args.out_dir):
        parser.error(f'{args.out_dir!r} exists: give a new folder.')
    model = load_mmmim_model(args.config, args.checkpoint, args.trust)
    from mmmim.models.backbones import VideoMAEViT

    video = isinstance(getattr(model, 'backbone', None), VideoMAEViT)
    export = export_to_videomae if video else export_to_vitmae
    tmp = args.out_dir.rstrip('/') + '.partial'
    shutil.rmtree(tmp, ignore_errors=True)
    hf_model = export(model, tmp)
    os.replace(tmp, args.out_dir)
    print(f'Saved {type(hf_model).__name__} to {args.out_dir}')


if __name__ == '__main__':
    sys.exit(main())
