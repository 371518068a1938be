"""Install WordNet 3.0 for nltk offline, from Debian's ``wordnet-base`` and ``wordnet-sense-index``.

nltk reads ``<NLTK_DATA>/corpora/wordnet/``. The files are copied, not linked,
because nltk rejects links that point outside its data folder. nltk also needs
``lexnames``, which Debian does not ship, so it is written from the fixed
WordNet 3.0 list of 45 lexicographer files.

Run ``python -m admelabel.augment.wordnet_data install [--target DIR]``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")

LEXNAMES: tuple[str, ...] = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling",
    "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object", "noun.person",
    "noun.phenomenon", "noun.plant", "noun.possession", "noun.process", "noun.quantity", "noun.relation",
    "noun.shape", "noun.state", "noun.substance", "noun.time", "verb.body", "verb.change",
    "verb.cognition", "verb.communication", "verb.competition", "verb.consumption", "verb.contact",
    "verb.creation", "verb.emotion", "verb.motion", "verb.perception", "verb.possession", "verb.social",
    "verb.stative", "verb.weather", "adj.ppl",
)
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}

REQUIRED_FILES = ("data.noun", "index.noun", "index.sense", "lexnames")


def default_target() -> Path:
    """Return ``<sys.prefix>/nltk_data``, a folder that nltk searches without NLTK_DATA."""
    return Path(sys.prefix) / "nltk_data"


def lexnames_text() -> str:
    """Return the WordNet 3.0 ``lexnames`` file: number, name and category per line."""
    lines = [f"{number:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}" for number, name in enumerate(LEXNAMES)]
    return "\n".join(lines) + "\n"


def is_installed(target: Path | None = None) -> bool:
    """Return whether ``target`` contains a usable WordNet for nltk."""
    folder = (target or default_target()) / "corpora" / "wordnet"
    return all((folder / name).is_file() for name in REQUIRED_FILES)


def install(target: Path | None = None, source: Path = DEBIAN_WORDNET_DIR) -> Path:
    """Copy WordNet from ``source`` into ``target/corpora/wordnet`` and write ``lexnames``.

    Returns the WordNet folder. Raises ``FileNotFoundError`` naming the Debian
    packages to install when ``source`` lacks the database or ``index.sense``.
    """
    target = target or default_target()
    folder = target / "corpora" / "wordnet"
    if not (source / "data.noun").is_file() or not (source / "index.sense").is_file():
        raise FileNotFoundError(
            f"WordNet data not found in {source}; install the Debian packages "
            "wordnet-base and wordnet-sense-index (apt-get install wordnet-base wordnet-sense-index)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.is_file():
            shutil.copyfile(item, folder / item.name)
    (folder / "lexnames").write_text(lexnames_text(), encoding="utf-8")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Install WordNet for nltk from Debian's packages.")
    parser.add_argument("action", choices=["install", "check"])
    parser.add_argument("--target", type=Path, default=None, help="NLTK data folder (default: <venv>/nltk_data)")
    args = parser.parse_args(argv)
    if args.action == "check":
        ok = is_installed(args.target)
        print("WordNet installed" if ok else "WordNet missing")
        return 0 if ok else 1
    try:
        folder = install(args.target)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"WordNet installed in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
