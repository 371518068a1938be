"""Finding a benchmark's files: a local copy, the ``data/`` folder, or a download."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from admelabel.benchmarks.download import DatasetMissingError, ProgressCallback, download_archive, extract_archive, verify_archive
from admelabel.dataset import Example
from admelabel.errors import FetchError, InputError

__all__ = ["BenchmarkData", "DatasetSpec", "locate_dataset"]


@dataclass
class BenchmarkData:
    """The train and test examples of one benchmark, with its class names in a fixed order."""

    name: str
    train: list[Example]
    test: list[Example]
    labels: list[str]
    root: Path | None = None
    options: dict[str, object] = field(default_factory=dict)

    def counts(self, split: str = "train") -> dict[str, int]:
        """Count examples per class of ``split`` ("train" or "test"), in ``labels`` order."""
        examples = self.train if split == "train" else self.test
        counter = Counter(example.label for example in examples)
        return {label: counter.get(label, 0) for label in self.labels}


@dataclass(frozen=True)
class DatasetSpec:
    """A benchmark's archive name, canonical URL and test for its extracted folder.

    ``find_root`` takes a folder and returns the dataset root inside it (the folder
    itself or a child), or None when the folder does not contain the dataset.
    """

    name: str
    archive: str
    url: str
    extract_dir: str
    find_root: Callable[[Path], Path | None]


def _from_archive(spec: DatasetSpec, archive: Path, data_dir: Path) -> Path:
    extracted = data_dir / spec.extract_dir
    root = spec.find_root(extracted) if extracted.is_dir() else None
    if root is None:
        extract_archive(archive, extracted)
        root = spec.find_root(extracted)
    if root is None:
        raise InputError(archive, f"the archive does not contain the {spec.name} folder layout; is it {spec.archive}?")
    return root


def _from_local(spec: DatasetSpec, path: Path, data_dir: Path) -> Path:
    if not path.exists():
        raise InputError(path, f"--data path not found; point it at {spec.archive} or its extracted folder")
    if path.is_file():
        return _from_archive(spec, path, data_dir)
    root = spec.find_root(path)
    if root is not None:
        return root
    if (path / spec.archive).is_file():
        return _from_archive(spec, path / spec.archive, data_dir)
    raise InputError(path, f"no {spec.name} data here; expected {spec.archive} or the folder it extracts to")


def locate_dataset(
    spec: DatasetSpec,
    *,
    data: str | Path | None = None,
    data_dir: str | Path = "data",
    download: bool = True,
    url: str | None = None,
    sha256: str | None = None,
    timeout: float = 60.0,
    progress: ProgressCallback | None = None,
) -> Path:
    """Return the root folder of a benchmark's extracted data, downloading it if needed.

    Parameters
    ----------
    spec : DatasetSpec
    data : path, optional
        A local copy: the archive, the extracted folder or its parent. An archive is
        extracted into ``data_dir``.
    data_dir : path
        Folder for downloads and extractions (default ``data``, relative to the
        working directory). Checked before downloading.
    download : bool
        When false, a missing dataset raises at once instead of being downloaded.
    url : str, optional
        Download address; defaults to ``spec.url``, the dataset's canonical source.
    sha256 : str, optional
        Expected SHA-256 of the archive (see ``download_archive``).

    Raises
    ------
    InputError
        When ``data`` does not exist or does not contain the dataset.
    DatasetMissingError
        When there is no local copy and the download is disabled or fails.
    DataError
        When the archive fails its checksum or cannot be extracted.
    """
    data_dir = Path(data_dir)
    if data is not None:
        return _from_local(spec, Path(data), data_dir)

    for candidate in (data_dir / spec.extract_dir, data_dir):
        root = spec.find_root(candidate) if candidate.is_dir() else None
        if root is not None:
            return root

    archive = data_dir / spec.archive
    if not archive.is_file():
        url = url or spec.url
        if not download:
            raise DatasetMissingError(spec.name, spec.archive, url, archive, "downloads are disabled by --no-download")
        try:
            download_archive(url, archive, sha256=sha256, timeout=timeout, progress=progress)
        except FetchError as exc:
            raise DatasetMissingError(spec.name, spec.archive, url, archive, f"download failed: {exc}") from None
    else:
        verify_archive(archive, sha256)
    return _from_archive(spec, archive, data_dir)
