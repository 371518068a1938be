"""Offline back-translation through Apertium: English to Spanish and back.

Needs the Debian packages ``apertium`` and ``apertium-eng-spa``. Many paragraphs
go through one pair of ``apertium`` calls, separated by a marker line that both
translation directions leave unchanged. The output is split on that marker, and
the number of parts is checked.

NOTE: Apertium 3.8.3 with apertium-eng-spa 0.8.1 translated 55 of 300 PK paragraphs
with a word or two different when the same batch was sent in reverse order,
also with a sentence-ending separator. So a paragraph's output depends on the
paragraphs batched with it. The same inputs, options and seed still give the same
output, but ``batch_size`` is part of the result.
"""

from __future__ import annotations

import functools
import logging
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

from admelabel.augment.base import AugmentJob, Augmenter, MissingToolError, register
from admelabel.errors import AdmelabelError

log = logging.getLogger(__name__)

_INSTALL_HINT = "install the Debian packages apertium and apertium-eng-spa (scripts/install.sh does it)"
# Unknown to both dictionaries, so Apertium copies it through; checked on every call.
_SEPARATOR = "ZQXSEPARATORZQX"
_SPACE = re.compile(r"\s+")


class ApertiumError(AdmelabelError):
    """An ``apertium`` call failed, timed out or returned output that cannot be split back."""


@functools.lru_cache(maxsize=4)
def check_apertium(executable: str = "apertium") -> str:
    """Return the path of ``executable`` after checking that it has the eng-spa and spa-eng modes.

    Raises ``MissingToolError`` naming what is missing and the packages to install.
    """
    path = shutil.which(executable)
    if path is None:
        raise MissingToolError(f"{executable!r} not found on PATH; {_INSTALL_HINT}")
    try:
        listing = subprocess.run([path, "-l"], capture_output=True, text=True, timeout=30, check=False).stdout
    except subprocess.TimeoutExpired:
        raise MissingToolError(f"'{path} -l' timed out after 30 s; check the Apertium installation") from None
    modes = set(listing.split())
    missing = [mode for mode in ("eng-spa", "spa-eng") if mode not in modes]
    if missing:
        raise MissingToolError(f"Apertium mode(s) {', '.join(missing)} not installed; {_INSTALL_HINT}")
    return path


@register
class ApertiumAugmenter(Augmenter):
    """Back-translation English -> Spanish -> English with Apertium (operation ``"spa"``).

    Options
    -------
    executable : str
        The ``apertium`` program (default found on PATH).
    batch_size : int
        Paragraphs per pair of ``apertium`` calls.
    timeout : float
        Seconds allowed for each ``apertium`` call.

    The output does not depend on the seed: each distinct paragraph is translated
    once, so every draw and copy of it gives the same text. A class smaller than
    the per-class target therefore contains repeated outputs; ``stats`` counts the
    distinct ones.
    """

    method = "apertium"
    defaults = {"executable": "apertium", "batch_size": 200, "timeout": 600.0}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if int(self.options["batch_size"]) < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.options['batch_size']!r}")
        if float(self.options["timeout"]) <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {self.options['timeout']!r}")
        self.executable = check_apertium(str(self.options["executable"]))
        self._translations: dict[str, str] = {}

    def augment(
        self, jobs: Sequence[AugmentJob], progress: Callable[[int], None] | None = None
    ) -> list[tuple[str, str]]:
        # Apertium is deterministic, so each distinct text is translated once per
        # augmenter, however often it was drawn and in whichever call.
        repeats: dict[str, int] = {}
        for job in jobs:
            repeats[job.text] = repeats.get(job.text, 0) + 1
        pending = [text for text in repeats if text not in self._translations]
        if progress is not None and len(pending) < len(repeats):
            progress(sum(count for text, count in repeats.items() if text in self._translations))

        batch_size = int(self.options["batch_size"])
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            self._translations.update(zip(batch, self.back_translate(batch)))
            if progress is not None:
                progress(sum(repeats[text] for text in batch))
        return [(self._translations[job.text], "spa") for job in jobs]

    def back_translate(self, texts: Sequence[str]) -> list[str]:
        """Translate ``texts`` to Spanish and back; return one English text per input.

        Raises ``ApertiumError`` when a call fails, times out, or the separator does
        not survive translation.
        """
        lines = [_SPACE.sub(" ", text).strip() for text in texts]
        spanish = self._split(self._run("eng-spa", self._join(lines)), len(lines), "eng-spa")
        english = self._split(self._run("spa-eng", self._join(spanish)), len(lines), "spa-eng")
        return english

    @staticmethod
    def _join(lines: Sequence[str]) -> str:
        # Blank lines around the marker keep Apertium from joining it to a sentence.
        return f"\n\n{_SEPARATOR}\n\n".join(lines) + "\n"

    @staticmethod
    def _split(output: str, expected: int, mode: str) -> list[str]:
        parts = [_SPACE.sub(" ", part).strip() for part in output.split(_SEPARATOR)]
        if len(parts) != expected:
            raise ApertiumError(
                f"apertium {mode} returned {len(parts)} parts for {expected} paragraphs; "
                "the separator line did not survive translation"
            )
        return parts

    def _run(self, mode: str, text: str) -> str:
        timeout = float(self.options["timeout"])
        log.debug("apertium -u %s: %d characters", mode, len(text))
        try:
            completed = subprocess.run(
                [self.executable, "-u", mode], input=text, capture_output=True, text=True,
                timeout=timeout, check=False,
            )
        except subprocess.TimeoutExpired:
            raise ApertiumError(f"apertium {mode} timed out after {timeout:g} s; lower batch_size or raise timeout") from None
        if completed.returncode != 0:
            raise ApertiumError(f"apertium {mode} failed with exit code {completed.returncode}: {completed.stderr.strip()[:300]}")
        return completed.stdout
