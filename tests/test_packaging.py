"""The wheel ships the package, its configs, its tools and its model index,
and leaves the choice of OpenMMLab or OneDL distributions to extras."""
import shutil
import subprocess
import sys
import zipfile

from helpers import REPO_ROOT

# What a build never reads: version control, outputs of earlier builds and
# runs, data.
NOT_SOURCES = shutil.ignore_patterns('.git', 'build', 'dist', '*.egg-info',
                                     'work_dirs', 'data', '__pycache__',
                                     '.pytest_cache')


def test_wheel_ships_configs_and_tools(tmp_path):
    # pip builds in the source tree (build/, *.egg-info): build a copy.
    source = tmp_path / 'source'
    shutil.copytree(REPO_ROOT, source, ignore=NOT_SOURCES)
    subprocess.run([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '-w',
        str(tmp_path),
        str(source)
    ],
                   check=True,
                   capture_output=True)
    (wheel, ) = tmp_path.glob('shike_mm-*.whl')
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in [
            'shike_mm/__init__.py',
            'shike_mm/utils/checkpoint.py',
            'shike_mm/datasets/class_names/imagenet-lt.txt',
            'shike_mm/datasets/class_names/places-lt.txt',
            'shike_mm/datasets/class_names/cifar100.txt',
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
    requires = [
        line.split(': ', 1)[1] for line in text.splitlines()
        if line.startswith('Requires-Dist: ')
    ]
    # Unconditional requirements never name a distribution of the
    # `mmpretrain`, `mmengine` or `mmcv` modules: pip would install it over
    # the other stack's.
    assert sorted(r for r in requires
                  if 'extra ==' not in r) == ['numpy', 'torch', 'torchvision']
    for extra, expected in [
        ('openmmlab', ['mmengine<1,>=0.10.7', 'mmpretrain<2,>=1.2.0']),
        ('lite', [
            'mmcv-lite<2.4.0,>=2.0.0', 'mmengine<1,>=0.10.7',
            'mmpretrain<2,>=1.2.0'
        ]),
        ('onedl', [
            'onedl-mmcv<2.4.0,>=2.0.0', 'onedl-mmengine<1,>=0.10.8',
            'onedl-mmpretrain<2,>=1.3.0'
        ]),
    ]:
        assert sorted(
            r.split(';')[0] for r in requires
            if r.endswith(f'extra == "{extra}"')) == expected, extra


def test_missing_mmpretrain_names_the_extras():
    code = "import sys; sys.modules['mmpretrain'] = None; import shike_mm"
    proc = subprocess.run([sys.executable, '-c', code],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True)
    assert proc.returncode != 0
    for extra in ('shike-mm[lite]', 'shike-mm[onedl]', 'shike-mm[openmmlab]'):
        assert extra in proc.stderr, proc.stderr[-2000:]
