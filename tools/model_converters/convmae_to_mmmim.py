# Copyright (c) mmmim contributors. All rights reserved.
"""Convert an official ConvMAE checkpoint (Alpha-VL/ConvMAE) to mmmim.

The rename rules are in ``mmmim/utils/converters/convmae.py``. Usage::

    python tools/model_converters/convmae_to_mmmim.py SRC DST [--trust]
"""

import sys

from mmmim.utils.converter_utils import run_converter
from mmmim.utils.converters import convmae
from mmmim.utils.converters.convmae import convert  # noqa: F401


def main(argv=None) -> None:
    run_converter(convmae, __doc__, argv)


if __name__ == '__main__':
    sys.exit(main())
