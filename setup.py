"""Ships configs/, tools/ and model-index.yml inside the package as ``mmsemdenoise/.mim``.

That folder is where mmengine looks up ``mmsemdenoise::<folder>/<config>.py`` bases and where
``mim train mmsemdenoise`` finds ``tools/train.py``. It is built from the repository's top-level
folders at wheel-build time (the mmpretrain/mmseg convention), so the repository keeps one copy.
All metadata lives in pyproject.toml.
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

MIM_ITEMS = ('configs', 'tools', 'model-index.yml')


class BuildPyWithMim(build_py):
    """``build_py`` that also copies :data:`MIM_ITEMS` into ``<build>/mmsemdenoise/.mim``."""

    def run(self) -> None:
        super().run()
        here = os.path.dirname(os.path.abspath(__file__))
        mim_dir = os.path.join(self.build_lib, 'mmsemdenoise', '.mim')
        os.makedirs(mim_dir, exist_ok=True)
        for item in MIM_ITEMS:
            src, dst = os.path.join(here, item), os.path.join(mim_dir, item)
            if os.path.islink(dst) or os.path.isfile(dst):
                os.remove(dst)
            elif os.path.isdir(dst):
                shutil.rmtree(dst)
            if os.path.isdir(src):
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            else:
                shutil.copyfile(src, dst)


setup(cmdclass={'build_py': BuildPyWithMim})
