"""Finding a training run's logs."""
import os

import pytest

from shike_mm.apis.training_logs import find_scalars_json


def test_find_scalars_json_explains_a_missing_log(tmp_path):
    with pytest.raises(FileNotFoundError, match='No vis_data/scalars.json'):
        find_scalars_json(str(tmp_path))
    older = tmp_path / '20240101_000000' / 'vis_data'
    newer = tmp_path / '20240102_000000' / 'vis_data'
    for mtime, folder in enumerate((older, newer)):
        folder.mkdir(parents=True)
        (folder / 'scalars.json').write_text('')
        os.utime(folder / 'scalars.json', (mtime, mtime))
    assert find_scalars_json(str(tmp_path)) == str(newer / 'scalars.json')
