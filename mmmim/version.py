# Copyright (c) mmmim contributors. All rights reserved.
import re

__version__ = '0.1.0'


def parse_version_info(version_str: str) -> tuple:
    """Parse '0.1.0' into (0, 1, 0) and '0.1.0rc1' into (0, 1, 0, 'rc1')."""
    match = re.fullmatch(r'(\d+)\.(\d+)\.(\d+)(.*)', version_str)
    if match is None:
        raise ValueError(f'Invalid version string {version_str!r}.')
    numbers = tuple(int(g) for g in match.groups()[:3])
    return numbers + ((match.group(4),) if match.group(4) else ())


version_info = parse_version_info(__version__)
