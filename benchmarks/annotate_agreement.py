"""Agreement of annotation records with the heading rules, per class, as Markdown tables.

    python benchmarks/annotate_agreement.py adme.jsonl [--train-set-ids ids.json]

Only paragraphs with a heading count: the rules' class of a paragraph before the first
heading (rule pk-intro) is a default, not a heading. With ``--train-set-ids`` (a JSON
list of the set ids whose paragraphs trained the model) the labels the model trained
on and the other labels are also reported apart.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from admelabel import LABELS
from admelabel.annotate import read_annotations


def agreement_table(records: list[dict], title: str) -> str:
    """Return a Markdown table: per heading-rule class, paragraphs, agreeing paragraphs and the share."""
    with_heading = [record for record in records if record["rule_label"] is not None]
    lines = [f"{title}: {len(records)} paragraphs, {len(with_heading)} with a heading", "",
             "| heading-rule class | paragraphs | model agrees | agreement |", "|---|---:|---:|---:|"]
    for label in LABELS:
        selected = [record for record in with_heading if record["rule_label"] == label]
        agree = sum(1 for record in selected if record["agrees"])
        share = f"{agree / len(selected):.1%}" if selected else "n/a"
        lines.append(f"| {label} | {len(selected)} | {agree} | {share} |")
    agree = sum(1 for record in with_heading if record["agrees"])
    share = f"{agree / len(with_heading):.1%}" if with_heading else "n/a"
    lines.append(f"| all | {len(with_heading)} | {agree} | {share} |")
    return "\n".join(lines)


def confusion_table(records: list[dict]) -> str:
    """Return a Markdown table of heading-rule class (rows) against predicted class (columns)."""
    counts = Counter((record["rule_label"], record["predicted"]) for record in records if record["rule_label"] is not None)
    lines = ["| rules \\ model | " + " | ".join(LABELS) + " |", "|---|" + "---:|" * len(LABELS)]
    for rule in LABELS:
        lines.append(f"| {rule} | " + " | ".join(str(counts[(rule, predicted)]) for predicted in LABELS) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("annotations", type=Path, help="JSONL or CSV written by admelabel annotate")
    parser.add_argument("--train-set-ids", type=Path, help="JSON list of the set ids the model was trained on")
    args = parser.parse_args()

    records = [record for record in read_annotations(args.annotations) if record["status"] == "ok"]
    print(agreement_table(records, "All labels"))
    print()
    print(confusion_table(records))
    if args.train_set_ids:
        trained = set(json.loads(args.train_set_ids.read_text(encoding="utf-8")))
        print()
        print(agreement_table([r for r in records if r["set_id"] in trained], "Labels the model trained on"))
        print()
        held_out = [r for r in records if r["set_id"] not in trained]
        print(agreement_table(held_out, "Labels the model did not train on"))
        print()
        print(confusion_table(held_out))
    without_heading = Counter(record["predicted"] for record in records if record["rule_label"] is None)
    print()
    print("Paragraphs without a heading, by predicted class: " + ", ".join(f"{label} {without_heading[label]}" for label in LABELS))


if __name__ == "__main__":
    main()
