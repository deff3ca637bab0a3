# Copyright (c) mmmim contributors. All rights reserved.
"""Packaging of mmmim.

Besides the Python package, ``tools/``, ``configs/`` and ``model-index.yml``
are made reachable as ``mmmim/.mim/`` so that ``mim train mmmim CONFIG`` and
mmengine's ``Config`` lookup work after installation: copied for wheels and
sdists, symlinked for development (``develop`` and PEP 660
``editable_wheel``) installs.
"""

import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

MIM_FILES = ['tools', 'configs', 'model-index.yml']


def readme() -> str:
    with open('README.md', encoding='utf-8') as f:
        return f.read()


def get_version() -> str:
    namespace: dict = {}
    with open(osp.join('mmmim', 'version.py'), encoding='utf-8') as f:
        exec(compile(f.read(), 'mmmim/version.py', 'exec'), namespace)
    return namespace['__version__']


def parse_requirements(fname: str) -> list:
    """Read one requirements file, skipping comments and blank lines."""
    requirements = []
    with open(fname, encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                requirements.append(line)
    return requirements


def add_mim_extension() -> None:
    """Link or copy tools/configs/model-index.yml into mmmim/.mim."""
    commands = set(sys.argv[1:])
    if commands & {'develop', 'editable_wheel'}:
        mode = 'symlink'
    elif commands & {'sdist', 'bdist_wheel', 'build', 'install'}:
        mode = 'copy'
    else:
        return
    repo_root = osp.dirname(osp.abspath(__file__))
    mim_root = osp.join(repo_root, 'mmmim', '.mim')
    os.makedirs(mim_root, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(repo_root, name)
        dst = osp.join(mim_root, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            # A relative link keeps working when the checkout is moved.
            os.symlink(osp.relpath(src, mim_root), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmmim',
        version=get_version(),
        description='OpenMMLab-style toolbox for masked image modeling: '
        'MAE, SimMIM, ConvMAE and VideoMAE',
        long_description=readme(),
        long_description_content_type='text/markdown',
        keywords='masked image modeling, self-supervised learning, '
        'computer vision, openmmlab',
        packages=find_packages(
            exclude=('configs*', 'tools*', 'tests', 'tests.*', 'docs*')
        ),
        include_package_data=True,
        python_requires='>=3.10',
        classifiers=[
            'Programming Language :: Python :: 3',
            'Programming Language :: Python :: 3.11',
            'License :: OSI Approved :: Apache Software License',
            'Operating System :: OS Independent',
        ],
        license='Apache License 2.0',
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            'optional': parse_requirements('requirements/optional.txt'),
            'tests': parse_requirements('requirements/tests.txt'),
            'docs': parse_requirements('requirements/docs.txt'),
            'mim': parse_requirements('requirements/mminstall.txt'),
        },
        zip_safe=False,
    )
