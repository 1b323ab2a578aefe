"""Packaging for shike-mm, an MMPretrain plugin for SHIKE."""
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))


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
    install_requires=[
        'mmpretrain>=1.2.0,<2',
        'mmengine>=0.10.7,<1',
        'torch',
        'torchvision',
        'numpy',
    ],
    extras_require={
        # For environments without mmcv: the pure-Python build of the same
        # `mmcv` module. Not a default, so a full mmcv is never replaced.
        'lite': ['mmcv-lite>=2.0.0,<2.4.0'],
        'tests': ['pytest>=7', 'scikit-learn', 'matplotlib'],
        'demo': ['scikit-learn', 'matplotlib'],
    },
    cmdclass={'build_py': BuildPyWithMimFiles},
    zip_safe=False,
)
