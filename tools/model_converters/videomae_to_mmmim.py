# Copyright (c) mmmim contributors. All rights reserved.
"""Convert an official VideoMAE checkpoint (MCG-NJU/VideoMAE) to mmmim.

The rename rules are in ``mmmim/utils/converters/videomae.py``. Usage::

    python tools/model_converters/videomae_to_mmmim.py SRC DST [--trust]
"""

import sys

from mmmim.utils.converter_utils import run_converter
from mmmim.utils.converters import videomae
from mmmim.utils.converters.videomae import convert  # noqa: F401


def main(argv=None) -> None:
    run_converter(videomae, __doc__, argv)


if __name__ == '__main__':
    sys.exit(main())
