"""Packaging for shike-mm, an MMPretrain plugin for SHIKE."""
import os.path as osp
import shutil
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
OPENMMLAB = ['mmpretrain>=1.2.0,<2', 'mmengine>=0.10.7,<1']
CLIP = ['open_clip_torch>=3.3,<4']


def read_version():
    namespace = {}
    with open(osp.join(HERE, 'shike_mm', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


class BuildPyWithMimFiles(build_py):
    """Copy ``configs/``, ``tools/`` and ``model-index.yml`` into
    ``shike_mm/.mim`` of the build.

    An installed copy then finds its configs (``shike_mm::shike/...py``),
    tools and model index the way MIM and MMPretrain expect. Editable
    installs read them from the checkout instead.
    """

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        mim_dir = osp.join(self.build_lib, 'shike_mm', '.mim')
        for name in ('configs', 'tools'):
            target = osp.join(mim_dir, name)
            if osp.isdir(target):
                shutil.rmtree(target)
            shutil.copytree(
                osp.join(HERE, name),
                target,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        shutil.copy(osp.join(HERE, 'model-index.yml'), mim_dir)


setup(
    name='shike-mm',
    version=read_version(),
    description='SHIKE (CVPR 2023) long-tailed recognition as an '
    'MMPretrain plugin',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(include=['shike_mm', 'shike_mm.*']),
    include_package_data=True,
    # Class names of the long-tailed benchmarks, for CLIP prompts.
    package_data={'shike_mm.datasets': ['class_names/*.txt']},
    # MMPretrain and MMEngine come from OpenMMLab or from the OneDL forks,
    # which install the same modules under other distribution names. A
    # requirement on either name would make pip install it over the other,
    # so they are extras; shike_mm names both when they are missing.
    install_requires=['torch', 'torchvision', 'numpy'],
    extras_require={
        'openmmlab':
        OPENMMLAB,
        # For environments without mmcv: the pure-Python build of the same
        # `mmcv` module (it requires OpenMMLab's `mmengine`), with
        # MMPretrain. Not a default, so a full mmcv is never replaced.
        'lite': ['mmcv-lite>=2.0.0,<2.4.0'] + OPENMMLAB,
        # onedl-mmcv builds without its C++ ops when torch is not in the
        # build environment, which is all classification needs.
        'onedl': [
            'onedl-mmpretrain>=1.3.0,<2',
            'onedl-mmengine>=0.10.8,<1',
            'onedl-mmcv>=2.0.0,<2.4.0',
        ],
        # CLIP's tokenizer for tools/misc/clip_text_classifier.py: the
        # open_clip_torch wheel ships the BPE vocabulary, so nothing is
        # downloaded (it brings timm, ftfy, regex and safetensors along).
        'clip':
        CLIP,
        # onnx and onnxruntime: the export test checks ONNX outputs;
        # open_clip_torch: the CLIP tool tests tokenize prompts. The style
        # tools are pinned: another version formats differently, and CI
        # runs tools/misc/check_style.sh before the tests.
        'tests': [
            'pytest>=7', 'scikit-learn', 'matplotlib', 'onnx', 'onnxruntime',
            'flake8==7.5.0', 'isort==9.0.2', 'yapf==0.43.0'
        ] + CLIP,
        'demo': ['scikit-learn', 'matplotlib'],
    },
    cmdclass={'build_py': BuildPyWithMimFiles},
    zip_safe=False,
)
