"""Exception types. Every error that admelabel raises on purpose derives from AdmelabelError."""

from __future__ import annotations

from pathlib import Path


class AdmelabelError(Exception):
    """Base class of admelabel's errors; the CLI prints the message and exits non-zero."""


class InputError(AdmelabelError):
    """An input file or value is missing or invalid.

    ``source`` names the file, zip member or value that failed, so that a batch can
    report each failure on its own line.
    """

    def __init__(self, source: str | Path, message: str) -> None:
        self.source = str(source)
        self.reason = message
        super().__init__(f"{self.source}: {message}")


class SPLError(InputError):
    """A file is not a readable SPL document (malformed XML, wrong root, unsafe content)."""


class NoPKSectionError(InputError):
    """A label has no Pharmacokinetics section (LOINC 43682-4) and no old-format equivalent."""


class ModelError(AdmelabelError):
    """A model folder or model name cannot be loaded or does not fit the task."""


class FetchError(AdmelabelError):
    """A download or a response from DailyMed or a mirror failed or was invalid."""


class DataError(AdmelabelError):
    """A dataset is empty, malformed or too small for the requested split."""
