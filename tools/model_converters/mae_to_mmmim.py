# Copyright (c) mmmim contributors. All rights reserved.
"""Convert an official MAE checkpoint (facebookresearch/mae) to mmmim.

The rename rules are in ``mmmim/utils/converters/mae.py``. Usage::

    python tools/model_converters/mae_to_mmmim.py SRC DST [--trust]
"""

import sys

from mmmim.utils.converter_utils import run_converter
from mmmim.utils.converters import mae
from mmmim.utils.converters.mae import convert  # noqa: F401


def main(argv=None) -> None:
    run_converter(mae, __doc__, argv)


if __name__ == '__main__':
    sys.exit(main())
