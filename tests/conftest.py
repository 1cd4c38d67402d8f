"""Shared test fixtures: the repository root, and ``../shared/data`` with a skip when absent.

Test files use these as fixtures (never ``from conftest import``)."""
from pathlib import Path
from typing import Callable

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / 'shared' / 'data'


@pytest.fixture(scope='session')
def repo_root() -> Path:
    """The repository root (the folder holding ``configs/`` and ``tools/``)."""
    return REPO_ROOT


@pytest.fixture(scope='session')
def shared_data() -> Callable[[str], Path]:
    """``shared_data('weights/FFDNet_color.mat')`` -> the existing path below ``../shared/data``;
    skips the calling test, with the path in the reason, when it is absent."""

    def find(relative: str) -> Path:
        path = SHARED_DATA / relative
        if not path.exists():
            pytest.skip(f'shared data not available: {path} '
                        '(expected ../shared beside the repository)')
        return path

    return find


def shared_path(relative: str) -> Path:
    """Deprecated module-level form of :func:`shared_data` (being replaced by the fixture)."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f'shared data not available: {path} (expected ../shared beside the repository)')
    return path
