"""Apply a trained model to SPL labels: every PK paragraph gets a class, its probabilities and provenance.

The flow is streaming, so memory does not grow with the batch. Inputs are read in
chunks of ``chunk_size`` labels and each chunk is parsed in worker processes, which
return plain record dicts. The chunk's paragraphs are then classified in length-sorted
batches, and its records are yielded and dropped. While one chunk is classified, the
next one is already being parsed.

>>> from admelabel.annotate import load_annotator, annotate_to_file     # doctest: +SKIP
>>> annotator = load_annotator("models/pft-20261204-101500")              # doctest: +SKIP
>>> summary = annotate_to_file(["labels/"], "adme.jsonl", annotator)      # doctest: +SKIP
>>> summary.paragraphs, summary.agreement_rate()                          # doctest: +SKIP
(4398, 0.91)
"""

from __future__ import annotations

import concurrent.futures
import csv
import json
import logging
import os
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from admelabel import LABELS
from admelabel.errors import InputError, ModelError
from admelabel.extract import RECORD_FIELDS, document_records, no_label_read_reason
from admelabel.io import atomic_write, write_json_atomic
from admelabel.pk import label_document
from admelabel.spl.reader import read_spl_bytes
from admelabel.spl.sources import SPLInput, iter_spl_inputs

__all__ = [
    "ANNOTATION_FIELDS",
    "CSV_FIELDS",
    "FORMATS",
    "Annotator",
    "LabelResult",
    "AnnotateSummary",
    "load_annotator",
    "resolve_model_dir",
    "resolve_inputs",
    "annotate_inputs",
    "annotate_to_file",
    "read_annotations",
    "rule_label_of",
]

log = logging.getLogger(__name__)

ANNOTATION_FIELDS: tuple[str, ...] = RECORD_FIELDS + (
    "status", "predicted", "confidence", "probabilities", "rule_label", "agrees", "model",
)
"""Fields of one annotation record: the extraction record plus the prediction."""

CSV_FIELDS: tuple[str, ...] = tuple(name for name in ANNOTATION_FIELDS if name != "probabilities") + tuple(
    f"p_{label}" for label in LABELS
)
"""CSV columns: the probabilities are spread into one ``p_<class>`` column per class."""

FORMATS = ("jsonl", "csv", "html")

STATUS_OK = "ok"
STATUS_NO_PK = "no_pk_section"
STATUS_NO_PARAGRAPHS = "no_pk_paragraphs"

NO_HEADING_RULE = "pk-intro"
"""Rule id of paragraphs before the first heading of a PK section: they have no heading label."""

CHUNK_SIZE = 64
"""Labels parsed and classified together; memory use is bounded by about two chunks."""

PARALLEL_MIN_LABELS = 4
"""A first chunk with fewer labels than this is parsed in-process: starting workers costs more."""

STATE_SUFFIX = ".state.json"
PARTIAL_SUFFIX = ".partial"

_SET_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# --------------------------------------------------------------------------- model


@dataclass
class Annotator:
    """A loaded model folder: the model, its tokenizer, ``admelabel.json`` and the inference settings."""

    model: Any
    tokenizer: Any
    info: dict[str, Any]
    path: Path
    labels: tuple[str, ...]
    max_length: int = 256
    batch_size: int = 64
    device: str = "cpu"
    precision: str = "fp32"
    cache_size: int = 20_000
    _cache: OrderedDict[str, Any] = field(default_factory=OrderedDict, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    def fingerprint(self) -> dict[str, Any]:
        """Identify the model for ``--resume``: folder, creation time and training-data fingerprint."""
        return {
            "path": str(self.path.resolve()),
            "created": self.info.get("created"),
            "data_fingerprint": self.info.get("data_fingerprint"),
        }

    def clear_cache(self) -> None:
        """Forget the probabilities kept for texts seen before."""
        self._cache.clear()

    def predict_proba(self, texts: Sequence[str]) -> Any:
        """Return an array ``(len(texts), len(labels))`` of class probabilities, rows in input order.

        Labels of one drug from several manufacturers repeat the same paragraphs, so the
        probabilities of the last ``cache_size`` distinct texts are kept and each
        distinct text runs through the model once.
        """
        import numpy as np

        missing = list(dict.fromkeys(text for text in texts if text not in self._cache))
        if missing:
            computed = _predict_proba(self.model, self.tokenizer, missing, batch_size=self.batch_size,
                                      max_length=self.max_length, device=self.device, precision=self.precision)
            for text, row in zip(missing, computed):
                self._cache[text] = row
        rows = []
        for text in texts:
            rows.append(self._cache[text])
            self._cache.move_to_end(text)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        if not rows:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return np.stack(rows)


def resolve_model_dir(model_dir: str | os.PathLike[str] | None, models_dir: str | os.PathLike[str] = "models") -> Path:
    """Return ``model_dir``, or the newest finished model under ``models_dir`` when it is None.

    Raises ``ModelError`` telling the user to run ``admelabel train`` when there is none.
    """
    if model_dir is not None:
        return Path(model_dir)
    latest = _find_latest_model(models_dir)
    if latest is None:
        raise ModelError(
            f"no trained model found under {Path(models_dir)}/; run 'admelabel train' first or pass --model DIR"
        )
    return latest


def load_annotator(
    model_dir: str | os.PathLike[str],
    *,
    batch_size: int = 64,
    max_length: int | None = None,
    device: str | None = None,
    precision: str = "auto",
) -> Annotator:
    """Load a model folder written by ``admelabel train`` for annotation.

    ``max_length`` defaults to the one in ``admelabel.json`` settings (else 256 tokens);
    ``device`` defaults to ``cuda`` when a GPU is present, else ``cpu``. ``precision``
    is ``auto`` (bf16 autocast where the GPU or CPU supports bfloat16), ``bf16`` or
    ``fp32``. Raises ``ModelError`` for a missing folder, a folder that is not an
    admelabel model, or a model whose classes are not the five ADME classes;
    ``ValueError`` for a ``batch_size`` below 1 or an unknown ``precision``.
    """
    import torch
    import transformers

    from admelabel.training.loop import resolve_precision

    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    transformers.utils.logging.disable_progress_bar()
    path = Path(model_dir)
    model, tokenizer, info = _load_model_folder(path)
    settings = info.get("settings") or {}
    if max_length is None:
        max_length = int(settings.get("max_length") or 256)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    resolved = resolve_precision(precision, device)
    model.to(device)
    return Annotator(model, tokenizer, info, path, tuple(info["labels"]), max_length, batch_size, device, resolved)


def _find_latest_model(models_dir: str | os.PathLike[str]) -> Path | None:
    from admelabel.training.model_folder import find_latest_model

    return find_latest_model(models_dir)


def _load_model_folder(path: Path) -> tuple[Any, Any, dict[str, Any]]:
    from admelabel.training.model_folder import load_model_folder

    return load_model_folder(path)


def _predict_proba(model: Any, tokenizer: Any, texts: Sequence[str], *, batch_size: int, max_length: int, device: Any,
                   precision: str) -> Any:
    from admelabel.training.inference import predict_proba

    return predict_proba(model, tokenizer, texts, batch_size=batch_size, max_length=max_length, device=device,
                         precision=precision)


# --------------------------------------------------------------------------- inputs


def resolve_inputs(arguments: Iterable[str | os.PathLike[str]], data_dir: str | os.PathLike[str] | None = None) -> Iterator[SPLInput]:
    """Yield the SPL inputs named by ``arguments``: files, folders, zip files, set ids or ``corpus:`` references.

    An argument that is not an existing path but is a set id means that label in the
    fetched corpus under ``data_dir`` (else ``$ADMELABEL_HOME``, else ``./data``), newest
    version. ``corpus:`` means every label of the corpus and ``corpus:SETID,...`` those
    set ids. A set id missing from the corpus, or a missing corpus, yields an
    ``SPLInput`` carrying the error, so the rest of the batch carries on.
    """
    from admelabel.dailymed.store import CORPUS_PREFIX, iter_inputs

    for argument in arguments:
        text = str(argument)
        if not Path(text).exists() and _SET_ID.match(text):
            text = CORPUS_PREFIX + text.lower()
        if not text.startswith(CORPUS_PREFIX):
            yield from iter_inputs([argument], data_dir)
            continue
        try:
            yield from iter_inputs([text], data_dir)
        except InputError as exc:
            yield SPLInput(text, error=InputError(text, f"{exc.reason}; fetch the labels with 'admelabel fetch' or pass the files"))


# --------------------------------------------------------------------------- parsing (worker side)


def parse_label(item: SPLInput, include_tables: bool = False) -> dict[str, Any]:
    """Parse one input into a plain dict: ``status`` (ok, no_pk_section or failed), metadata and extraction records.

    Runs in worker processes, so it returns only picklable built-in types.
    """
    if item.error is not None:
        return {"source": item.error.source, "status": "failed", "reason": item.error.reason, "records": []}
    try:
        assert item.data is not None
        document = read_spl_bytes(item.data, item.source)
        has_pk = label_document(document).found_by != "none"
        records = document_records(document, include_tables=include_tables) if has_pk else []
    except InputError as exc:
        return {"source": exc.source, "status": "failed", "reason": exc.reason, "records": []}
    return {
        "source": document.source,
        "status": STATUS_OK if has_pk else STATUS_NO_PK,
        "reason": None,
        "set_id": document.set_id,
        "version": document.version,
        "document_id": document.document_id,
        "effective_time": document.effective_time,
        "title": document.drug_name or document.title,
        "records": records,
    }


def _parse_chunk(items: list[SPLInput], include_tables: bool) -> list[dict[str, Any]]:
    return [parse_label(item, include_tables) for item in items]


# --------------------------------------------------------------------------- annotation


def rule_label_of(record: dict[str, Any]) -> str | None:
    """Return the heading-rule class of an extraction record, or None when the paragraph has no heading.

    Paragraphs before the first heading of a PK section (rule ``pk-intro``) get
    Other from the rules, but that is a default, not a heading, so they count as none.
    """
    if record.get("rule_id") in (None, NO_HEADING_RULE):
        return None
    return record.get("label")


@dataclass
class LabelResult:
    """The outcome for one input.

    ``status`` is ok, no_pk_section, no_pk_paragraphs (a PK section without paragraphs),
    failed, or skipped (already written by the run that ``--resume`` continues).
    """

    source: str
    status: str
    reason: str | None = None
    set_id: str | None = None
    version: str | None = None
    title: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return label_key(self.set_id, self.version, self.source)


def label_key(set_id: Any, version: Any, source: Any) -> tuple[str, str, str]:
    """Return the key that identifies a label in a resumed run: set id, version and source."""
    return (str(set_id or ""), str(version or ""), str(source or ""))


@dataclass
class AnnotateSummary:
    """Counts of one annotation run.

    ``agreement[c]`` is ``[agree, total]`` over paragraphs whose heading-rule class is ``c``;
    ``confusion[(rule, predicted)]`` counts those paragraphs by predicted class.
    """

    low_confidence_threshold: float = 0.6
    labels_read: int = 0
    labels_with_pk: int = 0
    labels_skipped: int = 0
    labels_without_pk: list[str] = field(default_factory=list)
    labels_without_paragraphs: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    paragraphs: int = 0
    per_class: Counter[str] = field(default_factory=Counter)
    low_confidence: int = 0
    no_heading: int = 0
    agreement: dict[str, list[int]] = field(default_factory=lambda: {label: [0, 0] for label in LABELS})
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.failures

    def add(self, result: LabelResult) -> None:
        """Count one label's outcome and records."""
        if result.status == "failed":
            self.failures.append((result.source, result.reason or "failed"))
            return
        if result.status == "skipped":
            # Counted with its records by add_written_label when the resumed file was read.
            return
        self.labels_read += 1
        if result.status == STATUS_NO_PK:
            self.labels_without_pk.append(result.source)
            return
        if result.status == STATUS_NO_PARAGRAPHS:
            self.labels_without_paragraphs.append(result.source)
            return
        self.labels_with_pk += 1
        for record in result.records:
            self.add_record(record)

    def add_written_label(self, records: list[dict[str, Any]]) -> None:
        """Count one label that an earlier run already wrote to the output that ``--resume`` continues."""
        first = records[0]
        self.labels_read += 1
        self.labels_skipped += 1
        source = str(first.get("source"))
        if first.get("status") == STATUS_NO_PK:
            self.labels_without_pk.append(source)
        elif first.get("status") == STATUS_NO_PARAGRAPHS:
            self.labels_without_paragraphs.append(source)
        else:
            self.labels_with_pk += 1
            for record in records:
                if record.get("status") == STATUS_OK:
                    self.add_record(record)

    def add_record(self, record: dict[str, Any]) -> None:
        """Count one paragraph record."""
        self.paragraphs += 1
        self.per_class[record["predicted"]] += 1
        if record["confidence"] < self.low_confidence_threshold:
            self.low_confidence += 1
        rule = record.get("rule_label")
        if rule is None:
            self.no_heading += 1
            return
        counts = self.agreement.setdefault(rule, [0, 0])
        counts[0] += int(bool(record["agrees"]))
        counts[1] += 1
        self.confusion[(rule, record["predicted"])] += 1

    def agreement_rate(self) -> float | None:
        """Return the share of paragraphs with a heading whose predicted class equals the heading-rule class."""
        agree = sum(counts[0] for counts in self.agreement.values())
        total = sum(counts[1] for counts in self.agreement.values())
        return agree / total if total else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels_read": self.labels_read,
            "labels_with_pk": self.labels_with_pk,
            "labels_skipped_as_done": self.labels_skipped,
            "labels_without_pk": list(self.labels_without_pk),
            "labels_without_pk_paragraphs": list(self.labels_without_paragraphs),
            "failures": [{"source": source, "reason": reason} for source, reason in self.failures],
            "paragraphs": self.paragraphs,
            "per_class": {label: self.per_class.get(label, 0) for label in LABELS},
            "low_confidence_threshold": self.low_confidence_threshold,
            "low_confidence": self.low_confidence,
            "paragraphs_without_heading": self.no_heading,
            "agreement_rate": self.agreement_rate(),
            "agreement_per_class": {label: {"agree": a, "total": t} for label, (a, t) in self.agreement.items()},
            "confusion": [{"rule": rule, "predicted": predicted, "count": count} for (rule, predicted), count in sorted(self.confusion.items())],
        }


def _annotate_records(records: list[dict[str, Any]], probabilities: Any, labels: Sequence[str], model_name: str) -> None:
    for record, row in zip(records, probabilities):
        best = int(row.argmax())
        rule = rule_label_of(record)
        predicted = labels[best]
        record["status"] = STATUS_OK
        record["predicted"] = predicted
        record["confidence"] = round(float(row[best]), 4)
        record["probabilities"] = {label: round(float(p), 4) for label, p in zip(labels, row)}
        record["rule_label"] = rule
        record["agrees"] = None if rule is None else predicted == rule
        record["model"] = model_name


def status_record(parsed: dict[str, Any], status: str, model_name: str) -> dict[str, Any]:
    """Return the single record written for a label without PK paragraphs (``status`` no_pk_section or no_pk_paragraphs)."""
    record: dict[str, Any] = {name: None for name in ANNOTATION_FIELDS}
    for name in ("set_id", "version", "document_id", "effective_time", "title", "source"):
        record[name] = parsed.get(name)
    record["id"] = f"{parsed.get('set_id')}:{parsed.get('version')}:none"
    record["status"] = status
    record["section_path"] = []
    record["model"] = model_name
    return record


def _chunks(items: Iterable[SPLInput], size: int) -> Iterator[list[SPLInput]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def annotate_inputs(
    inputs: Iterable[SPLInput],
    annotator: Annotator,
    *,
    include_tables: bool = False,
    workers: int = 0,
    chunk_size: int = CHUNK_SIZE,
    done: set[tuple[str, str, str]] | None = None,
) -> Iterator[LabelResult]:
    """Yield one ``LabelResult`` per input, in input order, with its annotated records.

    ``workers`` parsing processes are used (0 parses in-process); labels whose
    ``label_key`` is in ``done`` are yielded with status ``skipped`` and are not
    classified. Failures are yielded with status ``failed`` and a reason, never raised.
    Raises ``ValueError`` for a negative ``workers`` or a ``chunk_size`` below 1.
    """
    if workers < 0:
        raise ValueError(f"workers must be 0 or more, got {workers}")
    if chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1, got {chunk_size}")
    done = done or set()
    executor: concurrent.futures.ProcessPoolExecutor | None = None
    try:
        pending: concurrent.futures.Future[list[dict[str, Any]]] | list[dict[str, Any]] | None = None
        for chunk in _chunks(inputs, chunk_size):
            if executor is None and workers > 0 and len(chunk) >= PARALLEL_MIN_LABELS:
                executor = concurrent.futures.ProcessPoolExecutor(max_workers=workers)
            submitted = _submit(executor, chunk, include_tables, workers)
            if pending is not None:
                yield from _classify_chunk(_collect(pending), annotator, done)
            pending = submitted
        if pending is not None:
            yield from _classify_chunk(_collect(pending), annotator, done)
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)


def _submit(executor: concurrent.futures.ProcessPoolExecutor | None, chunk: list[SPLInput], include_tables: bool, workers: int) -> Any:
    if executor is None:
        return _parse_chunk(chunk, include_tables)
    # Split the chunk into one piece per worker so each worker parses several labels per task.
    step = max(1, -(-len(chunk) // workers))
    return [executor.submit(_parse_chunk, chunk[i : i + step], include_tables) for i in range(0, len(chunk), step)]


def _collect(pending: Any) -> list[dict[str, Any]]:
    if pending and isinstance(pending[0], concurrent.futures.Future):
        return [parsed for future in pending for parsed in future.result()]
    return pending


def _classify_chunk(parsed_labels: list[dict[str, Any]], annotator: Annotator, done: set[tuple[str, str, str]]) -> Iterator[LabelResult]:
    results = []
    to_classify: list[dict[str, Any]] = []
    for parsed in parsed_labels:
        result = LabelResult(parsed["source"], parsed["status"], parsed.get("reason"), parsed.get("set_id"), parsed.get("version"), parsed.get("title"))
        if result.status != "failed" and result.key in done:
            result.status = "skipped"
        elif result.status == STATUS_OK and parsed["records"]:
            result.records = parsed["records"]
            to_classify.extend(result.records)
        elif result.status == STATUS_OK:
            # A PK section that holds only headings (or only tables without --tables) still gets a
            # record, so that a resumed run knows the label is done.
            result.status = STATUS_NO_PARAGRAPHS
            result.records = [status_record(parsed, STATUS_NO_PARAGRAPHS, annotator.name)]
        elif result.status == STATUS_NO_PK:
            result.records = [status_record(parsed, STATUS_NO_PK, annotator.name)]
        results.append(result)
    if to_classify:
        probabilities = annotator.predict_proba([record["text"] for record in to_classify])
        _annotate_records(to_classify, probabilities, annotator.labels, annotator.name)
    yield from results


# --------------------------------------------------------------------------- output files


def csv_row(record: dict[str, Any]) -> list[str]:
    """Return one record as a CSV row in the order of ``CSV_FIELDS`` (probabilities spread over p_<class>)."""
    row = []
    probabilities = record.get("probabilities") or {}
    for name in CSV_FIELDS:
        value = probabilities.get(name[2:]) if name.startswith("p_") else record.get(name)
        if isinstance(value, list):
            value = " > ".join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        row.append("" if value is None else str(value))
    return row


def _from_csv_row(row: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {name: (row.get(name) or None) for name in ANNOTATION_FIELDS if name != "probabilities"}
    record["section_path"] = record["section_path"].split(" > ") if record["section_path"] else []
    if record["paragraph_index"] is not None:
        record["paragraph_index"] = int(record["paragraph_index"])
    if record["confidence"] is not None:
        record["confidence"] = float(record["confidence"])
    record["agrees"] = {"true": True, "false": False}.get(row.get("agrees") or "")
    if record["status"] == STATUS_OK:
        record["probabilities"] = {label: float(row[f"p_{label}"]) for label in LABELS}
    else:
        record["probabilities"] = None
    return record


def read_annotations(path: str | os.PathLike[str], fmt: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield the records of an annotation file (JSONL or CSV, by ``fmt`` or the suffix).

    CSV rows are turned back into records of the JSONL shape. Raises ``InputError``
    for a missing file or a line that is not a JSON object.
    """
    from admelabel.io import read_jsonl

    path = Path(path)
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    if fmt == "jsonl":
        yield from read_jsonl(path)
        return
    if not path.is_file():
        raise InputError(path, "file not found")
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield _from_csv_row(row)


def format_for_path(out: str | os.PathLike[str]) -> str | None:
    """Return the output format that the suffix of ``out`` names (jsonl, csv or html), else None."""
    suffix = Path(out).suffix.lower().lstrip(".")
    return {"json": "jsonl", "jsonl": "jsonl", "csv": "csv", "html": "html", "htm": "html"}.get(suffix)


def _run_config(annotator: Annotator, include_tables: bool, fmt: str) -> dict[str, Any]:
    return {"model": annotator.fingerprint(), "include_tables": include_tables, "format": fmt,
            "precision": annotator.precision}


def _prepare_resume(out: Path, partial: Path, state_path: Path, config: dict[str, Any],
                    summary: AnnotateSummary) -> set[tuple[str, str, str]]:
    """Bring ``partial`` back to its last committed size, count its labels in ``summary`` and return their keys.

    The records of one label are contiguous in the file, so the labels are counted one
    at a time and memory does not grow with the file.
    """
    import shutil

    if state_path.is_file():
        state = json.loads(state_path.read_text(encoding="utf-8"))
        earlier = state.get("config") or {}
        if earlier != config:
            setting_names = {"model": "model", "include_tables": "--tables setting", "format": "output format"}
            changed = [name for key, name in setting_names.items() if earlier.get(key) != config[key]]
            before = (earlier.get("model") or {}).get("path")
            raise InputError(
                out,
                f"--resume was given but the earlier run used another {' and '.join(changed) or 'configuration'} "
                f"(model {before}); rerun without --resume to start over, or resume with the same settings",
            )
        committed = int(state.get("committed_bytes", 0))
    else:
        committed = None
    if not partial.exists():
        if not out.exists():
            return set()
        if config["format"] == "html":
            raise InputError(out, "--resume cannot extend a finished HTML report; rerun without --resume to rebuild it")
        if committed is None:
            raise InputError(out, f"--resume was given but {state_path.name} is missing beside it; rerun without --resume")
        shutil.copyfile(out, partial)
    if committed is not None:
        with partial.open("r+b") as handle:
            handle.truncate(committed)
    done = set()
    current_key, current_records = None, []
    for record in read_annotations(partial, "csv" if config["format"] == "csv" else "jsonl"):
        key = label_key(record.get("set_id"), record.get("version"), record.get("source"))
        if key != current_key and current_records:
            summary.add_written_label(current_records)
            current_records = []
        current_key = key
        current_records.append(record)
        done.add(key)
    if current_records:
        summary.add_written_label(current_records)
    return done


def annotate_to_file(
    paths: Iterable[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    annotator: Annotator,
    *,
    fmt: str | None = None,
    include_tables: bool = False,
    workers: int = 0,
    chunk_size: int = CHUNK_SIZE,
    resume: bool = False,
    low_confidence: float = 0.6,
    data_dir: str | os.PathLike[str] | None = None,
    on_label: Callable[[LabelResult], None] | None = None,
) -> AnnotateSummary:
    """Annotate every label under ``paths`` into ``out`` (JSONL, CSV or an HTML report) and return the summary.

    Records go to ``<out>.partial`` as each chunk finishes (in JSONL for an HTML
    report), and ``<out>.state.json`` records the run settings and how many bytes are
    complete. At the end the partial file is renamed to ``out`` (or rendered into the
    HTML report) and the state file is kept, so that ``resume=True`` can continue an
    interrupted run, or extend a finished one with new labels, without classifying a
    label twice. A label without a PK section gets one record with ``status``
    no_pk_section. Raises ``InputError`` when ``resume`` meets another model or
    settings, and ``ValueError`` for an unknown ``fmt``.
    """
    paths = list(paths)
    out = Path(out)
    fmt = fmt or format_for_path(out) or "jsonl"
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    work_fmt = "jsonl" if fmt == "html" else fmt
    partial = out.with_name(out.name + PARTIAL_SUFFIX)
    state_path = out.with_name(out.name + STATE_SUFFIX)
    config = _run_config(annotator, include_tables, fmt)

    summary = AnnotateSummary(low_confidence_threshold=low_confidence)
    done = _prepare_resume(out, partial, state_path, config, summary) if resume else set()
    if not resume and partial.exists():
        log.info("starting over: removing the unfinished %s (use --resume to continue it)", partial)
        partial.unlink()
    out.parent.mkdir(parents=True, exist_ok=True)

    with partial.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle) if work_fmt == "csv" else None
        if writer is not None and handle.tell() == 0:
            writer.writerow(CSV_FIELDS)
        _write_state(state_path, config, handle)
        pending = 0
        for result in annotate_inputs(resolve_inputs(paths, data_dir), annotator, include_tables=include_tables, workers=workers, chunk_size=chunk_size, done=done):
            summary.add(result)
            for record in result.records:
                if writer is not None:
                    writer.writerow(csv_row(record))
                else:
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            pending += 1
            if pending >= chunk_size:
                _write_state(state_path, config, handle)
                pending = 0
            if on_label is not None:
                on_label(result)
        _write_state(state_path, config, handle)

    if summary.labels_read == 0 and not done:
        partial.unlink(missing_ok=True)
        state_path.unlink(missing_ok=True)
        raise InputError(", ".join(str(p) for p in paths), no_label_read_reason(summary.failures))
    if fmt == "html":
        from admelabel.report import write_report

        write_report(read_annotations(partial, "jsonl"), out, summary=summary, model_info=annotator.info, model_name=annotator.name, low_confidence=low_confidence)
        partial.unlink()
    else:
        os.replace(partial, out)
    return summary


def _write_state(state_path: Path, config: dict[str, Any], handle: Any) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    write_json_atomic(state_path, {"config": config, "committed_bytes": os.fstat(handle.fileno()).st_size})
