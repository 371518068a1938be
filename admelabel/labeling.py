"""Heading rules that label Pharmacokinetics paragraphs Absorption, Distribution, Metabolism, Excretion or Other.

The rules read only headings, never the paragraph text, except for combined
headings such as "Metabolism and Elimination" (rule ``combined-vote``). Every
labelled paragraph records the id of the rule that labelled it; ``RULES`` is the
table, and docs/labeling.md lists how many real paragraphs each rule labels.

Where headings come from, in order of precedence:

- a subsection's ``<title>``;
- for an untitled subsection, the emphasised lead of its first paragraph;
- inside a section's text, a paragraph that is only emphasised text (a heading
  written as a paragraph), an emphasised lead that opens a paragraph and ends
  with a colon or a line break, or a short plain paragraph that is exactly a
  known heading ("Distribution").

A heading nested under another (``Elimination > Metabolism``) wins over its
parent when it names a class itself; a heading that names no class inherits an
ADME parent's class (``Absorption > Immediate Release``) and is Other elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ABSORPTION, DISTRIBUTION, METABOLISM, EXCRETION, OTHER = "Absorption", "Distribution", "Metabolism", "Excretion", "Other"
ADME_LABELS = (ABSORPTION, DISTRIBUTION, METABOLISM, EXCRETION)


@dataclass(frozen=True)
class Rule:
    """One row of the rule table: its id, the class it gives and what it matches."""

    id: str
    label: str | None
    description: str


RULES: tuple[Rule, ...] = (
    Rule("absorption-heading", ABSORPTION, "heading names absorption, bioavailability or the food effect"),
    Rule("distribution-heading", DISTRIBUTION, "heading names distribution or protein binding"),
    Rule("metabolism-heading", METABOLISM, "heading names metabolism or biotransformation"),
    Rule("excretion-heading", EXCRETION, "heading names excretion or elimination"),
    Rule("combined-vote", None, "heading names two or more ADME classes: the class among them whose keywords the paragraph mentions most; ties go to the first class named"),
    Rule("inherit-parent", None, "heading names no class and sits under an ADME heading: the parent's class"),
    Rule("other-heading", OTHER, "heading names no ADME class (special populations, drug interactions, ...) and has no ADME parent"),
    Rule("pk-intro", OTHER, "paragraph of the Pharmacokinetics section before its first heading"),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}

_ADME_PATTERNS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    (ABSORPTION, "absorption-heading", re.compile(r"\b(absorption|absorbed|bioavailability|food)\b")),
    (DISTRIBUTION, "distribution-heading", re.compile(r"\b(distribution|protein[- ]binding)\b")),
    (METABOLISM, "metabolism-heading", re.compile(r"\b(metabolism|biotransformation)\b")),
    (EXCRETION, "excretion-heading", re.compile(r"\b(excretion|elimination)\b")),
)
# Headings that name a topic outside ADME even when an ADME word appears in them,
# e.g. "Drug Interactions Affecting Metabolism" is a drug interaction heading.
_OTHER_FIRST = re.compile(r"^(drug[- ]drug interactions?|drug interactions?|special populations?|specific populations?)\b")
_NUMBERING = re.compile(r"^\s*(\d+(\.\d+)*\.?|[A-Za-z]\.|\([A-Za-z0-9]+\)|[ivx]+\.)\s+", re.IGNORECASE)

_VOTE_PATTERNS = {
    ABSORPTION: re.compile(r"\b(absor\w*|bioavailab\w*|t\s?max|c\s?max|food)\b", re.IGNORECASE),
    DISTRIBUTION: re.compile(r"\b(distribut\w*|protein[- ]bound|protein binding|bound to|volume of|milk|placenta\w*)\b", re.IGNORECASE),
    METABOLISM: re.compile(r"\b(metaboli\w*|cyp\w*|glucuronid\w*|hydroxyl\w*|conjugat\w*|biotransform\w*)\b", re.IGNORECASE),
    EXCRETION: re.compile(r"\b(excret\w*|eliminat\w*|urin\w*|fec\w*|faec\w*|clearance|half-life|half life)\b", re.IGNORECASE),
}


@dataclass(frozen=True)
class HeadingClass:
    """The ADME classes that a heading names, in order (empty when it names none)."""

    heading: str
    classes: tuple[str, ...]
    rule_id: str

    @property
    def names_class(self) -> bool:
        return bool(self.classes)


def normalize_heading(heading: str) -> str:
    """Strip numbering ("12.3", "a."), trailing colons and dots, and fold case and white space."""
    text = " ".join(heading.split())
    text = _NUMBERING.sub("", text)
    text = text.strip(" :.-–—\u2013\u2014")
    return text.casefold()


def classify_heading(heading: str) -> HeadingClass:
    """Return the ADME classes a heading names, with the id of the matching rule.

    >>> classify_heading("12.3.2 Absorption:").classes
    ('Absorption',)
    >>> classify_heading("Metabolism and Elimination").classes
    ('Metabolism', 'Excretion')
    >>> classify_heading("Special Populations").classes
    ()
    """
    text = normalize_heading(heading)
    if not text or _OTHER_FIRST.match(text):
        return HeadingClass(heading, (), "other-heading")
    found: list[tuple[int, str, str]] = []
    for label, rule_id, pattern in _ADME_PATTERNS:
        match = pattern.search(text)
        if match:
            found.append((match.start(), label, rule_id))
    if not found:
        return HeadingClass(heading, (), "other-heading")
    found.sort()
    if len(found) == 1:
        return HeadingClass(heading, (found[0][1],), found[0][2])
    return HeadingClass(heading, tuple(label for _, label, _ in found), "combined-vote")


def is_known_heading(heading: str) -> bool:
    """Return whether a short plain text is a heading by itself: it names an ADME class or a usual PK topic."""
    text = normalize_heading(heading)
    if not text or len(text.split()) > 6:
        return False
    if classify_heading(heading).names_class:
        return True
    return bool(_KNOWN_OTHER.match(text))


_KNOWN_OTHER = re.compile(
    r"^(special populations?|specific populations?|drug[- ]drug interactions?|drug interactions?( studies)?|"
    r"pediatrics?|pediatric patients|paediatrics?|geriatrics?|geriatric patients|elderly( patients)?|"
    r"renal (impairment|insufficiency)|hepatic (impairment|insufficiency)|race|gender|sex|"
    r"pregnancy|lactation|pharmacogenomics|pharmacogenetics|obesity|body weight|age|"
    r"linear kinetics|accumulation|steady[- ]state|dose proportionality)$"
)


def vote_combined(text: str, classes: tuple[str, ...]) -> str:
    """Pick, among ``classes``, the one whose keywords occur most often in ``text``; ties go to the first named."""
    best, best_count = classes[0], -1
    for label in classes:
        count = len(_VOTE_PATTERNS[label].findall(text))
        if count > best_count:
            best, best_count = label, count
    return best


@dataclass(frozen=True)
class Context:
    """The labelling state that a heading sets for the paragraphs under it."""

    heading: str
    classes: tuple[str, ...]
    rule_id: str

    @property
    def is_adme(self) -> bool:
        return bool(self.classes)

    def label_for(self, text: str) -> str:
        """Return the class of a paragraph with ``text`` under this heading."""
        if not self.classes:
            return OTHER
        if len(self.classes) == 1:
            return self.classes[0]
        return vote_combined(text, self.classes)


INTRO = Context("", (), "pk-intro")


def child_context(heading: str, parent: Context) -> Context:
    """Return the context a heading sets under ``parent``: its own class, the parent's, or Other."""
    found = classify_heading(heading)
    if found.names_class:
        return Context(heading, found.classes, found.rule_id)
    if parent.is_adme and not _KNOWN_OTHER.match(normalize_heading(heading)):
        return Context(heading, parent.classes, "inherit-parent")
    return Context(heading, (), "other-heading")
