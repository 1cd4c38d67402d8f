"""Shared test helpers: where ``../shared/data`` is, and skipping when it is absent."""
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / 'shared' / 'data'


def shared_path(relative: str) -> Path:
    """Return ``../shared/data/<relative>``, or skip the test if it does not exist.

    Args:
        relative (str): Path below ``../shared/data``, e.g. ``'weights/FFDNet_color.mat'``.

    Returns:
        Path: The existing path.
    """
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f'shared data not available: {path} (expected ../shared beside the repository)')
    return path
