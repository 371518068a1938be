"""EDA (easy data augmentation) through nlpaug: WordNet synonyms, random swap, random deletion.

nlpaug 1.1.11 tags parts of speech with ``nltk.pos_tag`` before synonym replacement.
That tagger's data cannot be loaded offline, and nlpaug then tries to download an
outdated resource name and fails with ``LookupError``. This module replaces the
tagger: a word's tag is the WordNet part of speech under which it has the most
synsets. The override is the ``pos_tag`` class method of a subclass of
``nlpaug.model.word_dict.WordNet``, so nlpaug itself is not modified.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

from admelabel.augment.base import AugmentJob, Augmenter, MissingToolError, register
from admelabel.augment.seeding import seeded

EDA_OPERATIONS: tuple[str, ...] = ("synonym", "swap", "delete")

# Units and tokens that WordNet would replace with a wrong sense ("mg" -> "magnesium").
PROTECTED_WORDS = frozenset(
    "mg g kg mcg µg ng pg ml mL dl dL l L h hr hrs min mol mmol µmol nmol iu IU auc AUC cmax Cmax tmax Tmax".split()
)
# Tokens with digits (doses, percentages, CYP3A4) and upper-case abbreviations are
# never replaced, swapped or deleted: they carry the facts of a PK paragraph.
PROTECTED_PATTERN = r".*\d.*|[A-Z]{2,}.*"

# Punctuation that tokenize() splits off the edges of a word and detokenize() reattaches.
_CLOSING = ",.;:!?)]"
_OPENING = "(["
_SPACE_BEFORE_CLOSING = re.compile(r" ([" + re.escape(_CLOSING) + r"])")
_SPACE_AFTER_OPENING = re.compile(r"([" + re.escape(_OPENING) + r"]) ")

# Penn Treebank tags that nlpaug maps back to WordNet parts of speech.
_PENN_TAG = {"n": "NN", "v": "VB", "a": "JJ", "s": "JJ", "r": "RB"}
# nlpaug's SynonymAug never replaces a token tagged DT, so words without any
# WordNet entry get that tag and do not take up the replacement budget.
_SKIP_TAG = "DT"
# Replacing "is" with "be" or "have" with "rich person" changes grammar, not wording.
_AUXILIARIES = frozenset("am is are was were be been being has have had do does did will would shall should may might can could must".split())
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def tokenize(text: str) -> list[str]:
    """Split ``text`` on white space and split brackets and sentence punctuation off word edges.

    Hyphens, apostrophes, slashes and percent signs stay inside their word, so
    "first-pass", "4'-hydroxy" and "0.5 mg/kg" survive the round trip through
    ``detokenize``. nlpaug's default tokenizer splits them and rejoins them with spaces.
    """
    tokens: list[str] = []
    for chunk in text.split():
        head = []
        while chunk and chunk[0] in _OPENING:
            head.append(chunk[0])
            chunk = chunk[1:]
        tail = []
        while chunk and chunk[-1] in _CLOSING:
            tail.append(chunk[-1])
            chunk = chunk[:-1]
        tokens.extend(head)
        if chunk:
            tokens.append(chunk)
        tokens.extend(reversed(tail))
    return tokens


def detokenize(tokens: list[str]) -> str:
    """Join tokens with spaces and reattach the punctuation that ``tokenize`` split off."""
    text = " ".join(tokens)
    text = _SPACE_BEFORE_CLOSING.sub(r"\1", text)
    return _SPACE_AFTER_OPENING.sub(r"\1", text).strip()


def _wordnet():
    from nltk.corpus import wordnet

    return wordnet


def check_wordnet() -> None:
    """Load WordNet through nltk, or raise ``MissingToolError`` with the install command."""
    try:
        _wordnet().ensure_loaded()
    except LookupError:
        raise MissingToolError(
            "WordNet data for nltk not found; run 'python -m admelabel.augment.wordnet_data install' "
            "(it needs the Debian packages: apt-get install wordnet-base wordnet-sense-index)"
        ) from None


@functools.lru_cache(maxsize=200_000)
def wordnet_tag(word: str) -> str:
    """Return the Penn tag of the most frequent WordNet part of speech of ``word``.

    Frequency is the sum of the sense-tagged corpus counts (``Lemma.count()``, read
    from WordNet's ``index.sense``) of the lemmas that match the word. The number of
    synsets breaks ties. Returns ``"DT"``, a tag that nlpaug skips, for tokens that
    are not words, are auxiliary verbs, or have no WordNet entry.
    """
    if not _WORD.fullmatch(word) or word.lower() in _AUXILIARIES:
        return _SKIP_TAG
    wordnet = _wordnet()
    lower = word.lower()
    scores: dict[str, tuple[int, int]] = {}
    for synset in wordnet.synsets(lower):
        pos = synset.pos()
        base = wordnet.morphy(lower, pos) or lower
        tagged = sum(lemma.count() for lemma in synset.lemmas() if lemma.name().lower() in (lower, base))
        count, synsets = scores.get(_PENN_TAG[pos], (0, 0))
        scores[_PENN_TAG[pos]] = (count + tagged, synsets + 1)
    if not scores:
        return _SKIP_TAG
    return max(scores, key=lambda tag: scores[tag])


@functools.lru_cache(maxsize=1)
def _synonym_class() -> type:
    """Build the SynonymAug subclass that tags with ``wordnet_tag`` (imports nlpaug lazily)."""
    from nlpaug.augmenter.word import SynonymAug
    from nlpaug.model.word_dict import WordNet

    class OfflineWordNet(WordNet):
        @classmethod
        def pos_tag(cls, tokens: list[str]) -> list[tuple[str, str]]:
            return [(token, wordnet_tag(token)) for token in tokens]

    class OfflineSynonymAug(SynonymAug):
        @classmethod
        def get_model(cls, aug_src: str, lang: str, dict_path: Any, force_reload: bool) -> WordNet:
            return OfflineWordNet(lang=lang, is_synonym=True)

    return OfflineSynonymAug


@register
class EDAAugmenter(Augmenter):
    """EDA with nlpaug: one operation per output, chosen in turn from ``operations``.

    Options
    -------
    operations : sequence of {"synonym", "swap", "delete"}
        The operations to use; each copy of a draw takes the next one.
    synonym_p, swap_p, delete_p : float
        Fraction of words each operation changes (EDA's alpha; at least one word,
        at most 10, as nlpaug counts them).

    Raises ``MissingToolError`` when WordNet is not installed for nltk and
    ``ValueError`` for an unknown operation or a fraction outside (0, 1].
    """

    method = "eda"
    defaults = {"operations": EDA_OPERATIONS, "synonym_p": 0.1, "swap_p": 0.1, "delete_p": 0.1}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        operations = tuple(self.options["operations"])
        unknown = [op for op in operations if op not in EDA_OPERATIONS]
        if unknown or not operations:
            raise ValueError(f"EDA operations must be among {', '.join(EDA_OPERATIONS)}, got {operations!r}")
        for name in ("synonym_p", "swap_p", "delete_p"):
            value = self.options[name]
            if not 0.0 < float(value) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value!r}")
        self.operations = operations
        if "synonym" in operations:
            check_wordnet()
        self._augmenters = {op: self._build(op) for op in operations}

    def _build(self, operation: str) -> Any:
        import nlpaug.augmenter.word as naw

        common = {"tokenizer": tokenize, "reverse_tokenizer": detokenize, "stopwords_regex": PROTECTED_PATTERN}
        if operation == "synonym":
            return _synonym_class()(
                aug_src="wordnet", aug_p=float(self.options["synonym_p"]), stopwords=sorted(PROTECTED_WORDS), **common
            )
        return naw.RandomWordAug(action=operation, aug_p=float(self.options[f"{operation}_p"]), **common)

    def augment(
        self, jobs: Sequence[AugmentJob], progress: Callable[[int], None] | None = None
    ) -> list[tuple[str, str]]:
        results = []
        for job in jobs:
            operation = self.operations[job.rotation(len(self.operations))]
            with seeded(job.output_seed):
                output = self._augmenters[operation].augment(job.text)
            results.append((_first_text(output), operation))
            if progress is not None:
                progress(1)
        return results


def _first_text(output: Any) -> str:
    # nlpaug returns a list of strings for a string input (an empty list for empty input).
    if isinstance(output, list):
        return output[0] if output else ""
    return output or ""
