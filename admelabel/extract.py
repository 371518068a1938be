"""Extract the rule-labelled Pharmacokinetics paragraphs of SPL labels into dataset records.

>>> from admelabel.extract import extract_records
>>> records = list(extract_records(["labels/"]))          # doctest: +SKIP
>>> records[0]["label"], records[0]["rule_id"]             # doctest: +SKIP
('Absorption', 'absorption-heading')
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from admelabel import LABELS
from admelabel.errors import InputError, SPLError
from admelabel.io import atomic_write
from admelabel.pk import label_document
from admelabel.spl.reader import SPLDocument, read_spl_bytes
from admelabel.spl.sources import SPLInput

log = logging.getLogger(__name__)

RECORD_FIELDS: tuple[str, ...] = (
    "id", "set_id", "version", "document_id", "effective_time", "title", "section_path", "heading",
    "rule_id", "label", "block_kind", "paragraph_index", "text", "source",
)
"""Fields of one extracted record, in the column order of CSV output."""

FORMATS = ("jsonl", "csv")


@dataclass
class ExtractSummary:
    """Counts of one extraction run; ``failures`` lists ``(source, reason)`` for unreadable inputs."""

    labels_read: int = 0
    labels_with_pk: int = 0
    labels_without_pk: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    paragraphs: int = 0
    headings: int = 0
    tables_skipped: int = 0
    per_label: Counter[str] = field(default_factory=Counter)
    per_rule: Counter[str] = field(default_factory=Counter)
    per_kind: Counter[str] = field(default_factory=Counter)
    found_by: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels_read": self.labels_read,
            "labels_with_pk": self.labels_with_pk,
            "labels_without_pk": list(self.labels_without_pk),
            "failures": [{"source": source, "reason": reason} for source, reason in self.failures],
            "paragraphs": self.paragraphs,
            "headings": self.headings,
            "tables_skipped": self.tables_skipped,
            "per_label": {label: self.per_label.get(label, 0) for label in LABELS},
            "per_rule": dict(self.per_rule.most_common()),
            "per_kind": dict(self.per_kind),
            "found_by": dict(self.found_by),
        }


def document_records(document: SPLDocument, *, include_tables: bool = False, summary: ExtractSummary | None = None) -> list[dict[str, Any]]:
    """Return one record per PK paragraph of ``document`` (tables only when ``include_tables``).

    A label without a PK section gives an empty list and is counted in
    ``summary.labels_without_pk``.
    """
    result = label_document(document)
    if summary is not None:
        summary.labels_read += 1
        summary.found_by[result.found_by] += 1
        if result.found_by == "none":
            summary.labels_without_pk.append(document.source)
        else:
            summary.labels_with_pk += 1
        summary.headings += result.headings
    records = []
    for paragraph in result.paragraphs:
        if paragraph.block_kind == "table" and not include_tables:
            if summary is not None:
                summary.tables_skipped += 1
            continue
        record = {
            "id": f"{document.set_id}:{document.version}:{paragraph.paragraph_index}",
            "set_id": document.set_id,
            "version": document.version,
            "document_id": document.document_id,
            "effective_time": document.effective_time,
            "title": document.drug_name or document.title,
            "section_path": paragraph.section_path,
            "heading": paragraph.heading,
            "rule_id": paragraph.rule_id,
            "label": paragraph.label,
            "block_kind": paragraph.block_kind,
            "paragraph_index": paragraph.paragraph_index,
            "text": paragraph.text,
            "source": document.source,
        }
        records.append(record)
        if summary is not None:
            summary.paragraphs += 1
            summary.per_label[paragraph.label or "none"] += 1
            summary.per_rule[paragraph.rule_id] += 1
            summary.per_kind[paragraph.block_kind] += 1
    return records


def iter_documents(inputs: Iterable[SPLInput], summary: ExtractSummary | None = None) -> Iterator[SPLDocument]:
    """Parse each input into an ``SPLDocument``; failures go to ``summary.failures`` (or raise without one)."""
    for item in inputs:
        try:
            if item.error is not None:
                raise item.error
            assert item.data is not None
            yield read_spl_bytes(item.data, item.source)
        except InputError as exc:
            if summary is None:
                raise
            log.info("skipped %s: %s", exc.source, exc.reason)
            summary.failures.append((exc.source, exc.reason))


def no_label_read_reason(failures: Sequence[tuple[str, str]]) -> str:
    """Return the error text for a batch in which no input was an SPL label, quoting the first failures."""
    reasons = "; ".join(f"{source}: {reason}" for source, reason in failures[:3])
    return f"no SPL label could be read ({reasons or 'no input'}); pass DailyMed SPL XML files, folders or zips of them"


def extract_records(
    paths: Iterable[str | Path],
    *,
    include_tables: bool = False,
    summary: ExtractSummary | None = None,
    on_document: Callable[[SPLDocument], None] | None = None,
    home: str | Path | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield one record per PK paragraph of every SPL label found under ``paths``.

    ``paths`` may name XML files, folders (searched recursively) and zip files
    (DailyMed release zips with nested label zips included), and ``corpus:`` or
    ``corpus:SETID[,SETID...]`` for labels in the fetched corpus at ``home``
    (default: ``$ADMELABEL_HOME`` or ``./data``). Each record has the
    fields of ``RECORD_FIELDS``; ``label`` is one of ``LABELS``. Unreadable inputs
    are recorded in ``summary.failures`` when a summary is given; without one the
    first failure raises ``InputError``.
    """
    from admelabel.dailymed.store import iter_inputs

    for document in iter_documents(iter_inputs(paths, home), summary):
        if on_document is not None:
            on_document(document)
        yield from document_records(document, include_tables=include_tables, summary=summary)


def _csv_row(record: dict[str, Any]) -> list[str]:
    row = []
    for name in RECORD_FIELDS:
        value = record.get(name, "")
        if isinstance(value, list):
            value = " > ".join(value)
        row.append("" if value is None else str(value))
    return row


def write_records(records: Iterable[dict[str, Any]], out: str | Path, *, fmt: str = "jsonl") -> int:
    """Write records atomically as JSONL or CSV and return how many were written.

    Nothing is left at ``out`` if writing fails part way.
    """
    import json

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    count = 0
    with atomic_write(out, "w") as handle:
        if fmt == "csv":
            writer = csv.writer(handle)
            writer.writerow(RECORD_FIELDS)
            for record in records:
                writer.writerow(_csv_row(record))
                count += 1
        else:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
    return count


def extract_dataset(
    paths: Iterable[str | Path],
    out: str | Path,
    *,
    fmt: str = "jsonl",
    include_tables: bool = False,
    on_document: Callable[[SPLDocument], None] | None = None,
    home: str | Path | None = None,
) -> ExtractSummary:
    """Extract every PK paragraph under ``paths`` into ``out`` and return the run's summary.

    The output is written even when some inputs fail (their reasons are in the
    summary) but not when no label could be read at all, which raises ``InputError``.
    """
    summary = ExtractSummary()
    paths = list(paths)
    records = list(extract_records(paths, include_tables=include_tables, summary=summary, on_document=on_document, home=home))
    if summary.labels_read == 0:
        raise SPLError(", ".join(str(p) for p in paths), no_label_read_reason(summary.failures))
    write_records(records, out, fmt=fmt)
    return summary
