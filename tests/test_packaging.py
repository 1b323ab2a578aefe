"""The wheel ships the package, its configs, its tools and its model index."""
import os.path as osp
import subprocess
import sys
import zipfile

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_wheel_ships_configs_and_tools(tmp_path):
    subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '-w',
        str(tmp_path), REPO_ROOT
    ],
                   check=True,
                   capture_output=True)
    (wheel, ) = tmp_path.glob('shike_mm-*.whl')
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in [
            'shike_mm/__init__.py',
            'shike_mm/utils/checkpoint.py',
            'shike_mm/.mim/configs/_base_/default_runtime.py',
            'shike_mm/.mim/configs/shike/shike_r32_cifar100-lt-if100.py',
            'shike_mm/.mim/tools/train.py',
            'shike_mm/.mim/tools/test.py',
            'shike_mm/.mim/tools/dist_train.sh',
            'shike_mm/.mim/model-index.yml',
            'shike_mm/.mim/configs/shike/metafile.yml',
    ]:
        assert required in names, required
    assert not any('__pycache__' in n for n in names)
    metadata = [n for n in names if n.endswith('METADATA')][0]
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert 'Requires-Dist: mmpretrain<2,>=1.2.0' in text
    assert 'Requires-Dist: mmcv-lite<2.4.0,>=2.0.0; extra == "lite"' in text
    assert 'torch==' not in text
