"""Small hand-written PK sentences for training tests (not taken from any label)."""

from __future__ import annotations

from admelabel import LABELS
from admelabel.dataset import Example

_TEMPLATES = {
    "Absorption": [
        "Peak plasma concentrations of drug {i} were reached {h} hours after an oral dose.",
        "The absolute bioavailability of tablet {i} was about {p} percent.",
        "Food delayed the absorption of capsule {i} by {h} hours.",
    ],
    "Distribution": [
        "Drug {i} is {p} percent bound to plasma proteins, mainly albumin.",
        "The volume of distribution of compound {i} at steady state is {h} liters.",
    ],
    "Metabolism": [
        "Drug {i} is metabolized by CYP3A4 to an inactive metabolite.",
        "Compound {i} undergoes glucuronidation in the liver.",
    ],
    "Excretion": [
        "About {p} percent of dose {i} was recovered in urine as unchanged drug.",
        "The elimination half-life of drug {i} is {h} hours.",
    ],
    "Other": [
        "No dose adjustment is needed for patients {i} with mild renal impairment.",
    ],
}

_PER_CLASS = {"Absorption": 10, "Distribution": 5, "Metabolism": 5, "Excretion": 6, "Other": 4}


def make_examples(scale: int = 1) -> list[Example]:
    """Return an imbalanced list of distinct examples of all five classes, in a fixed order."""
    examples = []
    for label in LABELS:
        templates = _TEMPLATES[label]
        for i in range(_PER_CLASS[label] * scale):
            text = templates[i % len(templates)].format(i=i, h=1 + i % 7, p=10 + 3 * i % 90)
            examples.append(Example(id=f"{label[0]}{i}", text=text, label=label, group=f"drug{i % 5}"))
    return examples


def reverse_words(examples: list[Example]) -> list[Example]:
    """A deterministic stand-in for data augmentation: each text with its words in reverse order.

    Returns the originals followed by one reversed copy of each, so the pre-finetuning
    set is distinguishable from the training set.
    """
    copies = [
        Example(id=f"{example.id}-rev", text=" ".join(reversed(example.text.split())), label=example.label,
                group=example.group, meta={"source_id": example.id})
        for example in examples
    ]
    return list(examples) + copies
