"""Labels of real DailyMed labels, pinned after reading each label's PK section by hand.

Each case names the layout it covers. The text prefixes are the starts of real
paragraphs; the expected class is what a reader of the label's headings gives.
"""

from __future__ import annotations

import pytest

from admelabel.dataset import class_counts, deduplicate, examples_from_records
from admelabel.extract import ExtractSummary, extract_records

PINNED = {
    # 43682-4 without subsections; underline/italic heading paragraphs, "Elimination<br/>Metabolism".
    "000155a8-709c-44e5-a75f-cd890f3a7caf.xml": [
        ("Naproxen is rapidly and completely absorbed", "Other", "pk-intro"),
        ("After administration of naproxen tablets, peak plasma", "Absorption", "absorption-heading"),
        ("Naproxen has a volume of distribution of 0.16 L/kg", "Distribution", "distribution-heading"),
        ("Naproxen is extensively metabolized in the liver", "Metabolism", "metabolism-heading"),
        ("The clearance of naproxen is 0.13 mL/min/kg", "Excretion", "excretion-heading"),
        ("When NSAIDs were administered with aspirin", "Other", "other-heading"),
    ],
    # Old-format label coding 43682-4 with titled subsections and tables.
    "000b5b37-3873-4007-b3be-ad99a9904bed.xml": [
        ("The systemic bioavailability of etodolac is 100%", "Absorption", "absorption-heading"),
        ("Etodolac is extensively metabolized in the liver", "Metabolism", "metabolism-heading"),
        ("Fecal excretion accounted for 16% of the dose", "Excretion", "excretion-heading"),
    ],
    # Untitled subsections whose headings are list items ("Metabolism" as the first item).
    "00a1272e-a561-4bf4-9a45-a72db19be9dd.xml": [
        ("Following single oral doses of indomethacin capsules", "Absorption", "absorption-heading"),
        ("Indomethacin exists in the plasma as the parent drug", "Metabolism", "metabolism-heading"),
        ("Indomethacin is eliminated via renal excretion", "Excretion", "excretion-heading"),
        ("Pharmacokinetic differences due to race have not been identified", "Other", "other-heading"),
    ],
    # Untitled subsections with bold leads; Elimination holding Metabolism and Excretion.
    "01ca16de-ab2e-4e19-e063-6394a90a0510.xml": [
        ("The half-life of bupivacaine in adults is 2.7 hours", "Excretion", "excretion-heading"),
        ("Amide-type local anesthetics such as bupivacaine are metabol", "Metabolism", "metabolism-heading"),
        ("The kidney is the main excretory organ", "Excretion", "excretion-heading"),
        ("Elderly patients exhibited higher peak plasma", "Other", "other-heading"),
    ],
    # Combined untitled headings "Absorption and Distribution:", "Metabolism and Excretion:".
    "0b0be196-0c62-461c-94f4-9a35339b4501.xml": [
        ("VIAGRA is rapidly absorbed after oral administration", "Other", "pk-intro"),
        ("Sildenafil is cleared predominantly by the CYP3A4", "Metabolism", "combined-vote"),
        ("After either oral or intravenous administration, sildenafil", "Excretion", "combined-vote"),
        ("Cimetidine (800 mg), a nonspecific CYP inhibitor", "Other", "other-heading"),
    ],
    # "Absorption and Bioavailability" (one class) and "Metabolism and Elimination" (combined).
    "0e8b5d49-bc5f-48a1-b353-34056900e852.xml": [
        ("The absolute bioavailability of a metformin", "Absorption", "absorption-heading"),
        ("The apparent volume of distribution (V/F) of metformin", "Distribution", "distribution-heading"),
        ("Intravenous single-dose studies in normal subjects", "Excretion", "combined-vote"),
    ],
    # Nested 43682-4 subsections with trailing colons.
    "79bf4f19-1f42-4fb7-abba-fd2e4fd0e56b.xml": [
        ("Ibuprofen is highly protein-bound (99%)", "Distribution", "distribution-heading"),
        ("Hydrocodone exhibits a complex pattern of metabolism", "Metabolism", "metabolism-heading"),
        ("Hydrocodone and its metabolites are eliminated", "Excretion", "excretion-heading"),
        ("The effect of renal insufficiency on the pharmacokinetics", "Other", "other-heading"),
    ],
    # Old format without 43682-4: Pharmacokinetics subsection of Clinical Pharmacology, uncoded.
    "0055edbf-f1f6-4b50-8e41-202c5a2a7883.xml": [
        ("Diclofenac is 100% absorbed after oral administration", "Absorption", "absorption-heading"),
        ("Five diclofenac metabolites have been identified", "Metabolism", "metabolism-heading"),
        ("Diclofenac is eliminated through metabolism", "Excretion", "excretion-heading"),
    ],
    # No ADME headings at all, only "Elderly Patients:"-style subsections with colons.
    "113dbe00-742e-aac8-8570-dd4d31349159.xml": [
        ("After oral administration, approximately 80% of a radiolabel", "Other", "pk-intro"),
        ("In moderate renal insufficiency patients", "Other", "other-heading"),
    ],
    # Depth-3 nesting: General Pharmacokinetic Characteristics > Elimination > Metabolism.
    "1ab9b3c7-f7b7-4cf0-8070-d0ef77232e9e.xml": [
        ("The pharmacokinetics of piroxicam have been characterized", "Other", "other-heading"),
        ("Piroxicam is well absorbed following oral administration", "Absorption", "absorption-heading"),
        ("Metabolism of piroxicam occurs by hydroxylation", "Metabolism", "metabolism-heading"),
        ("Piroxicam and its biotransformation products are excreted", "Excretion", "excretion-heading"),
    ],
    # Old version with an upper-case setId, "Uptake and Distribution".
    "versions/762b51be-1893-4cd1-9511-e645fc420d3a_v2.xml": [
        ("Nitric oxide is absorbed systemically after inhalation", "Distribution", "distribution-heading"),
        ("Nitrate has been identified as the predominant", "Excretion", "excretion-heading"),
    ],
}

WITHOUT_PK = [
    "00653b7c-7099-487e-9a01-e89781c21323.xml",  # OTC Drug Facts label
    "72f3a5f5-562d-4fbf-bac2-5123f873699d.xml",  # Rx label without any PK section
    "9324733b-5201-4981-b4a1-18f43f022210.xml",  # pharmacologic class indexing document
]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_real_labels(shared_spl, name):
    records = list(extract_records([shared_spl / name]))
    for prefix, label, rule_id in PINNED[name]:
        matches = [r for r in records if r["text"].startswith(prefix)]
        assert matches, f"no paragraph starting {prefix!r} in {name}"
        assert matches[0]["label"] == label, prefix
        assert matches[0]["rule_id"] == rule_id, prefix


def test_upper_case_set_id_folded(shared_spl):
    records = list(extract_records([shared_spl / "versions" / "762b51be-1893-4cd1-9511-e645fc420d3a_v2.xml"]))
    assert {r["set_id"] for r in records} == {"762b51be-1893-4cd1-9511-e645fc420d3a"}
    assert {r["version"] for r in records} == {"2"}


@pytest.mark.parametrize("name", WITHOUT_PK)
def test_labels_without_pk_reported(shared_spl, name):
    summary = ExtractSummary()
    assert list(extract_records([shared_spl / name], summary=summary)) == []
    assert summary.labels_without_pk == [str(shared_spl / name)]


def test_whole_corpus_meets_dataset_floor(shared_spl):
    summary = ExtractSummary()
    records = list(extract_records(sorted(shared_spl.glob("*.xml")), summary=summary))
    assert summary.failures == []
    labelled_labels = {r["set_id"] for r in records}
    assert len(labelled_labels) >= 395
    counts = class_counts(deduplicate(examples_from_records(records)))
    for label, count in counts.items():
        assert count >= 100, f"{label} has only {count} distinct texts"
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
