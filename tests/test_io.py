"""Atomic writes and the exclusive lock."""

from __future__ import annotations

import pytest

from admelabel.errors import AdmelabelError
from admelabel.io import atomic_write, exclusive_lock


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as handle:
            handle.write("new")
            raise RuntimeError("stop")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_lock_rejects_second_holder(tmp_path):
    lock = tmp_path / "model.lock"
    with exclusive_lock(lock, "model folder m"):
        with pytest.raises(AdmelabelError, match="model folder m is in use by another admelabel process"):
            with exclusive_lock(lock, "model folder m"):
                pass
    assert not lock.exists()
    with exclusive_lock(lock, "model folder m"):
        assert lock.exists()
