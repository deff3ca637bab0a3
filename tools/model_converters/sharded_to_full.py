# Copyright (c) mmmim contributors. All rights reserved.
"""Gather a sharded (FSDP2Strategy) checkpoint folder into one file.

The file holds the weights and ``meta`` of the folder (no optimizer
state) and loads like any mmmim checkpoint: ``tools/test.py``,
``load_from``, ``init_cfg=dict(type='Pretrained', ...)``, ``init_model``.
It runs in one process, without a process group. Usage::

    python tools/model_converters/sharded_to_full.py \\
        work_dirs/RUN/epoch_100.pth work_dirs/RUN/epoch_100_full.pth
"""

import argparse
import sys

import torch

from mmmim.engine.strategies.fsdp2_checkpoint import sharded_to_full
from mmmim.utils.atomic_io import atomic_output


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='the sharded checkpoint folder')
    parser.add_argument('dst', help='the full checkpoint file to write')
    args = parser.parse_args(argv)
    checkpoint = sharded_to_full(args.src)
    with atomic_output(args.dst) as f:
        torch.save(checkpoint, f)
    print(
        f'{args.dst}: {len(checkpoint["state_dict"])} tensors '
        f'(iteration {checkpoint.get("meta", {}).get("iter")})'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
