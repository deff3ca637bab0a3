# Copyright (c) mmmim contributors. All rights reserved.
"""Convert an official SimMIM checkpoint (microsoft/SimMIM) to mmmim.

The rename rules are in ``mmmim/utils/converters/simmim.py``. Usage::

    python tools/model_converters/simmim_to_mmmim.py SRC DST [--trust]
"""

import sys

from mmmim.utils.converter_utils import run_converter
from mmmim.utils.converters import simmim
from mmmim.utils.converters.simmim import convert  # noqa: F401


def main(argv=None) -> None:
    run_converter(simmim, __doc__, argv)


if __name__ == '__main__':
    sys.exit(main())
