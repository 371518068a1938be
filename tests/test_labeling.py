"""Heading rules: classification of headings and labels of the fixture layouts."""

from __future__ import annotations

import pytest

from admelabel.extract import extract_records
from admelabel.labeling import RULES, classify_heading, normalize_heading, vote_combined


@pytest.mark.parametrize(
    ("heading", "classes", "rule_id"),
    [
        ("Absorption", ("Absorption",), "absorption-heading"),
        ("12.3.1 Absorption:", ("Absorption",), "absorption-heading"),
        ("Absorption and Bioavailability", ("Absorption",), "absorption-heading"),
        ("Effect of Food", ("Absorption",), "absorption-heading"),
        ("Food/Antacid Effects", ("Absorption",), "absorption-heading"),
        ("DISTRIBUTION", ("Distribution",), "distribution-heading"),
        ("Protein Binding", ("Distribution",), "distribution-heading"),
        ("Metabolism", ("Metabolism",), "metabolism-heading"),
        ("Elimination", ("Excretion",), "excretion-heading"),
        ("Excretion.", ("Excretion",), "excretion-heading"),
        ("Absorption and Distribution", ("Absorption", "Distribution"), "combined-vote"),
        ("Metabolism and Elimination", ("Metabolism", "Excretion"), "combined-vote"),
        ("Metabolism and Excretion:", ("Metabolism", "Excretion"), "combined-vote"),
        ("Specific Populations", (), "other-heading"),
        ("Drug Interactions Affecting Metabolism", (), "other-heading"),
        ("Renal Insufficiency:", (), "other-heading"),
        ("Metabolic acidosis", (), "other-heading"),
    ],
)
def test_classify_heading(heading, classes, rule_id):
    found = classify_heading(heading)
    assert found.classes == classes
    assert found.rule_id == rule_id


def test_normalize_heading_strips_numbering():
    assert normalize_heading(" 12.3.2  Metabolism and Elimination: ") == "metabolism and elimination"
    assert normalize_heading("a. Distribution") == "distribution"


def test_vote_combined_counts_keywords():
    assert vote_combined("Renal clearance and urinary excretion dominate.", ("Metabolism", "Excretion")) == "Excretion"
    assert vote_combined("It is metabolized by CYP3A4.", ("Metabolism", "Excretion")) == "Metabolism"
    assert vote_combined("No keywords here.", ("Absorption", "Distribution")) == "Absorption"


def test_rule_ids_unique():
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))


def labels_of(path, **kwargs):
    return [(record["paragraph_index"], record["label"], record["rule_id"]) for record in extract_records([path], **kwargs)]


def test_titled_subsections(fixtures_dir):
    assert labels_of(fixtures_dir / "spl" / "titled_subsections.xml") == [
        (0, "Other", "pk-intro"),
        (1, "Absorption", "absorption-heading"),
        (3, "Absorption", "absorption-heading"),  # "Effect of Food" under Absorption
        (4, "Distribution", "distribution-heading"),  # title with a trailing colon
        (5, "Distribution", "distribution-heading"),  # a list
        (6, "Excretion", "excretion-heading"),  # Elimination's own paragraph
        (7, "Metabolism", "metabolism-heading"),  # Metabolism under Elimination wins
        (8, "Excretion", "excretion-heading"),
        (9, "Other", "other-heading"),
        (10, "Other", "other-heading"),
    ]


def test_tables_only_on_request(fixtures_dir):
    path = fixtures_dir / "spl" / "titled_subsections.xml"
    kinds = {record["paragraph_index"]: record["block_kind"] for record in extract_records([path], include_tables=True)}
    assert kinds[2] == "table"
    assert 2 not in {record["paragraph_index"] for record in extract_records([path])}


def test_untitled_subsections_use_bold_lead(fixtures_dir):
    records = list(extract_records([fixtures_dir / "spl" / "untitled_subsections.xml"]))
    assert [(r["label"], r["heading"]) for r in records] == [
        ("Other", ""),
        ("Absorption", "Absorption"),
        ("Distribution", "Distribution"),
        ("Excretion", "Elimination"),
        ("Metabolism", "Metabolism"),
        ("Other", "Drug Interaction Studies"),
    ]
    assert records[4]["section_path"] == ["12.3 Pharmacokinetics", "Elimination", "Metabolism"]


def test_inline_leads(fixtures_dir):
    records = list(extract_records([fixtures_dir / "spl" / "inline_leads.xml"]))
    by_text = {r["text"]: r["label"] for r in records}
    assert by_text == {
        "Inlinex reaches steady state in 4 days.": "Other",
        "Inlinex tablets:": "Absorption",
        "Peak levels are reached in 1 to 2 hours.": "Absorption",
        "Inlinex is extensively metabolized in the liver.": "Metabolism",
        "Most of a dose is excreted in the urine.": "Excretion",
        "Children clear inlinex faster.": "Other",
        "Inlinex is 99% protein bound.": "Distribution",
        "It crosses the placenta.": "Distribution",
        "In vitro studies show no transporter inhibition.": "Distribution",
    }


def test_heading_paragraphs_not_examples(fixtures_dir):
    texts = [r["text"] for r in extract_records([fixtures_dir / "spl" / "inline_leads.xml"])]
    for heading in ("Absorption", "Elimination\nMetabolism", "Excretion", "Specific Populations"):
        assert heading not in texts


def test_nested_pk_and_combined_titles(fixtures_dir):
    records = list(extract_records([fixtures_dir / "spl" / "nested_combined.xml"]))
    assert [(r["label"], r["rule_id"]) for r in records] == [
        ("Other", "pk-intro"),  # nested 43682-4 titled Pharmacokinetics is not a heading
        ("Absorption", "combined-vote"),
        ("Distribution", "combined-vote"),
        ("Metabolism", "combined-vote"),
        ("Excretion", "combined-vote"),
    ]


def test_old_format_pk_under_clinical_pharmacology(fixtures_dir):
    records = list(extract_records([fixtures_dir / "spl" / "old_format.xml"]))
    assert [(r["label"], r["text"]) for r in records] == [
        ("Distribution", "Oldformin is negligibly bound to plasma proteins."),
        ("Excretion", "Oldformin is excreted unchanged in the urine."),
    ]
    assert all(r["rule_id"] == r["label"].lower() + "-heading" for r in records)


def test_label_without_pk_yields_nothing(fixtures_dir):
    assert list(extract_records([fixtures_dir / "spl" / "no_pk.xml"])) == []
