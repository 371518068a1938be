"""A rule-based sentence splitter for label text, used to keep translation inputs short."""

from __future__ import annotations

import re

# Words that end with a period without ending a sentence in drug labels.
ABBREVIATIONS = frozenset(
    "approx ca cf dr e.g eg et al etc fig figs i.e ie inc incl mr ms no nos ref resp st vs vol wt".split()
)
# A period, "!" or "?" (with closing quotes or brackets) followed by white space and
# the start of a new sentence. Decimals such as "0.5 mg" have no space after the point.
_BOUNDARY = re.compile(r"""[.!?]["'”’)\]]*\s+(?=["'“‘(\[]?[A-Z0-9])""")
_LAST_WORD = re.compile(r"(?:^|[\s(\[])([A-Za-z][A-Za-z.]*)\.$")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences; return the non-empty ones, stripped.

    A boundary is ".", "!" or "?" followed by white space and an upper-case letter,
    digit or opening bracket or quote, except after an abbreviation in
    ``ABBREVIATIONS`` ("approx.", "e.g.", "et al.") or a single capital letter
    (an initial such as "J. Smith"). Text without boundaries is one sentence.
    """
    sentences = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        head = text[start : match.start() + 1]
        last = _LAST_WORD.search(head)
        if last is not None:
            word = last.group(1)
            if word.lower().rstrip(".") in ABBREVIATIONS or (len(word) == 1 and word.isupper()):
                continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [sentence for sentence in sentences if sentence]
