"""Shared fixtures: where the real DailyMed labels are, and the small SPL fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _shared_spl_dir() -> Path:
    override = os.environ.get("ADMELABEL_SHARED_SPL")
    if override:
        return Path(override)
    return REPO_ROOT.parent / "shared" / "data" / "spl"


SHARED_SPL = _shared_spl_dir()


@pytest.fixture(scope="session")
def shared_spl() -> Path:
    """The folder of real DailyMed SPL labels beside the repository; skips the test when absent."""
    if not (SHARED_SPL / "MANIFEST.tsv").is_file():
        pytest.skip(f"real SPL labels not found at {SHARED_SPL} (set ADMELABEL_SHARED_SPL to their folder)")
    return SHARED_SPL


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(autouse=True, scope="session")
def _torch_threads() -> None:
    """Keep torch to two threads so test timings do not depend on the machine's core count."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def tiny_adme_model(tmp_path_factory) -> Path:
    """A one-layer MiniLM ADME model folder trained for a few steps (see tests/tiny_model.py).

    It trains on real paragraphs when the shared labels are present, else on the fixture labels.
    """
    from admelabel.extract import extract_records
    from tiny_model import balanced_examples, build_tiny_model

    if (SHARED_SPL / "MANIFEST.tsv").is_file():
        sources = sorted(SHARED_SPL.glob("*.xml"))[:60]
    else:
        sources = sorted((FIXTURES / "spl").glob("*.xml"))
    examples = balanced_examples(list(extract_records(sources)), per_class=8)
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-adme", examples)
