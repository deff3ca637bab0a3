# Copyright (c) mmmim contributors. All rights reserved.
"""Every row of the papers' tables has a config that exists, or a reason."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_every_paper_row_has_a_config_or_a_reason():
    with open(REPO / 'configs' / 'paper_tables.yml', encoding='utf-8') as f:
        tables = yaml.safe_load(f)['tables']
    assert len(tables) >= 20
    rows = 0
    for table in tables:
        assert table['paper'] in {'MAE', 'SimMIM', 'ConvMAE', 'VideoMAE'}
        for row in table['rows']:
            rows += 1
            if 'config' in row:
                assert (REPO / row['config']).is_file(), row
            else:
                assert len(row.get('reason', '')) > 15, row
    assert rows >= 80
