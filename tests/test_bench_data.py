"""Benchmark loaders and imbalance builders on the IMDB and 20 Newsgroups fixtures.

The fixtures under tests/fixtures/aclImdb and tests/fixtures/20news-bydate follow the
real archives' layout, file naming, headers and encoding, with made-up text.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from admelabel.benchmarks.imdb import load_imdb, read_imdb_split
from admelabel.benchmarks.newsgroups import load_newsgroups, strip_message
from admelabel.dataset import Example, imdb_imbalance, newsgroups_longtail, newsgroups_step, ratio_sweep
from admelabel.errors import DataError, InputError

NEWSGROUP_TRAIN_COUNTS = {
    "alt.atheism": 8,
    "comp.graphics": 9,
    "comp.os.ms-windows.misc": 10,
    "comp.sys.ibm.pc.hardware": 7,
    "comp.sys.mac.hardware": 9,
    "comp.windows.x": 10,
    "misc.forsale": 6,
    "rec.autos": 10,
    "rec.motorcycles": 9,
    "rec.sport.baseball": 10,
    "rec.sport.hockey": 10,
    "sci.crypt": 9,
    "sci.electronics": 12,
    "sci.med": 10,
    "sci.space": 8,
    "soc.religion.christian": 11,
    "talk.politics.guns": 5,
    "talk.politics.mideast": 15,
    "talk.politics.misc": 4,
    "talk.religion.misc": 3,
}

# Training counts of the real bydate split as commonly quoted; they sum to the
# documented 11,314 documents.
REAL_TRAIN_COUNTS = {
    "alt.atheism": 480,
    "comp.graphics": 584,
    "comp.os.ms-windows.misc": 591,
    "comp.sys.ibm.pc.hardware": 590,
    "comp.sys.mac.hardware": 578,
    "comp.windows.x": 593,
    "misc.forsale": 585,
    "rec.autos": 594,
    "rec.motorcycles": 598,
    "rec.sport.baseball": 597,
    "rec.sport.hockey": 600,
    "sci.crypt": 595,
    "sci.electronics": 591,
    "sci.med": 594,
    "sci.space": 593,
    "soc.religion.christian": 599,
    "talk.politics.guns": 546,
    "talk.politics.mideast": 564,
    "talk.politics.misc": 465,
    "talk.religion.misc": 377,
}


@pytest.fixture(scope="module")
def imdb(fixtures_dir: Path):
    return load_imdb(fixtures_dir / "aclImdb", download=False)


@pytest.fixture(scope="module")
def newsgroups(fixtures_dir: Path):
    return load_newsgroups(fixtures_dir / "20news-bydate", download=False)


def _synthetic(counts: dict[str, int]) -> list[Example]:
    return [Example(id=f"{label}-{i}", text=f"text {i}", label=label) for label, n in counts.items() for i in range(n)]


# Loaders


@pytest.mark.parametrize("relative", ["aclImdb", "."])
def test_imdb_accepts_folder_or_parent(fixtures_dir: Path, relative: str) -> None:
    data = load_imdb(fixtures_dir / relative, download=False)
    assert data.root == fixtures_dir / "aclImdb"
    assert data.counts("train") == {"neg": 20, "pos": 20}
    assert data.counts("test") == {"neg": 6, "pos": 6}


def test_imdb_accepts_tar_gz(tmp_path: Path, fixtures_dir: Path) -> None:
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(fixtures_dir / "aclImdb", arcname="aclImdb")
    data = load_imdb(archive, data_dir=tmp_path / "data", download=False)
    assert data.root == tmp_path / "data" / "aclImdb_v1" / "aclImdb"
    assert data.counts("train") == {"neg": 20, "pos": 20}


def test_imdb_example_fields(imdb) -> None:
    first = imdb.train[0]
    assert first.id == "imdb-train-neg-0"
    assert first.label == "neg"
    assert first.meta["file"] == "train/neg/0_3.txt"
    assert first.meta["rating"] == 3
    assert all(example.meta["rating"] <= 4 for example in imdb.train if example.label == "neg")
    assert all(example.meta["rating"] >= 7 for example in imdb.train if example.label == "pos")
    assert not any("<br" in example.text for example in imdb.train + imdb.test)
    assert not any(example.id.startswith("imdb-train-unsup") for example in imdb.train)


def test_imdb_rejects_rating_in_wrong_folder(tmp_path: Path) -> None:
    for split in ("train", "test"):
        for label in ("neg", "pos"):
            (tmp_path / split / label).mkdir(parents=True)
    (tmp_path / "train" / "pos" / "3_2.txt").write_text("Bad.")
    with pytest.raises(DataError, match="rating 2 does not fit class 'pos'"):
        read_imdb_split(tmp_path, "train")


def test_newsgroups_counts_and_labels(newsgroups) -> None:
    assert newsgroups.labels == sorted(NEWSGROUP_TRAIN_COUNTS)
    assert newsgroups.counts("train") == NEWSGROUP_TRAIN_COUNTS
    assert set(newsgroups.counts("test").values()) == {2}
    assert len(newsgroups.train) == 175


def test_newsgroups_strips_by_default(newsgroups) -> None:
    texts = [example.text for example in newsgroups.train]
    assert not any("Organization:" in text for text in texts)
    assert not any(line.startswith(">") for text in texts for line in text.splitlines())
    assert not any("writes:" in text for text in texts)


def test_newsgroups_raw_keeps_headers(fixtures_dir: Path) -> None:
    data = load_newsgroups(fixtures_dir / "20news-bydate", download=False, remove=())
    first = data.train[0]
    assert first.text.startswith("From: ")
    assert "\nLines: " in first.text
    assert first.id == f"20ng-train-alt.atheism-{Path(first.meta['file']).name}"


def test_newsgroups_decodes_latin1(fixtures_dir: Path) -> None:
    data = load_newsgroups(fixtures_dir / "20news-bydate", download=False, remove=())
    forsale = [example.text for example in data.train if example.label == "misc.forsale"]
    assert any("\xa3120 (\xe9tat neuf)" in text for text in forsale)


def test_strip_message_parts() -> None:
    message = "From: a@b\nSubject: x\n\nIn article <1@b>, c@d writes:\n> quoted\nBody line\n\n--\nSignature\n"
    assert strip_message(message, ["headers"]).startswith("In article")
    assert strip_message(message, ["headers", "quotes"]).splitlines()[0] == "Body line"
    assert "Signature" not in strip_message(message, ["headers", "footers"])
    with pytest.raises(ValueError, match="got signature"):
        strip_message(message, ["signature"])


def test_missing_local_copy_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--data path not found"):
        load_imdb(tmp_path / "nowhere", download=False)
    with pytest.raises(InputError, match="no 20 Newsgroups data here"):
        load_newsgroups(tmp_path, download=False)


def test_corrupt_archive_is_data_error(tmp_path: Path) -> None:
    archive = tmp_path / "20news-bydate.tar.gz"
    archive.write_bytes(b"not a tar file")
    with pytest.raises(DataError, match="cannot extract"):
        load_newsgroups(archive, data_dir=tmp_path / "data", download=False)
    assert not (tmp_path / "data" / "20news-bydate").exists()


# Builders


def test_imdb_imbalance_counts(imdb) -> None:
    kept, summary = imdb_imbalance(imdb.train, seed=0)
    assert summary.counts == {"neg": 2, "pos": 20}
    assert summary.counts_before == {"neg": 20, "pos": 20}
    assert summary.ratio == pytest.approx(0.1)
    assert len(kept) == 22
    assert [example for example in kept if example.label == "pos"] == [e for e in imdb.train if e.label == "pos"]


def test_imdb_imbalance_full_size() -> None:
    _, summary = imdb_imbalance(_synthetic({"neg": 12500, "pos": 12500}))
    assert summary.counts == {"neg": 1250, "pos": 12500}
    assert summary.ratio == pytest.approx(0.1)


def test_imdb_imbalance_seeded(imdb) -> None:
    first, _ = imdb_imbalance(imdb.train, seed=3)
    again, _ = imdb_imbalance(imdb.train, seed=3)
    other, _ = imdb_imbalance(imdb.train, seed=4)
    ids = [example.id for example in first]
    assert ids == [example.id for example in again]
    assert ids != [example.id for example in other]


def test_step_counts_on_fixture(newsgroups) -> None:
    _, summary = newsgroups_step(newsgroups.train, keep_range=(9, 10), seed=0)
    assert summary.majority == [
        "comp.graphics",
        "comp.os.ms-windows.misc",
        "comp.sys.mac.hardware",
        "comp.windows.x",
        "rec.autos",
        "rec.motorcycles",
        "rec.sport.baseball",
        "rec.sport.hockey",
        "sci.crypt",
        "sci.med",
    ]
    expected = {label: 1 for label in NEWSGROUP_TRAIN_COUNTS}
    expected.update({label: NEWSGROUP_TRAIN_COUNTS[label] for label in summary.majority})
    expected["talk.politics.mideast"] = 2
    assert summary.counts == expected
    assert summary.ratio == pytest.approx(1 / 10)


def test_step_rounds_half_up(newsgroups) -> None:
    _, summary = newsgroups_step(newsgroups.train, keep_range=(9, 10), keep_fraction=0.5)
    assert summary.counts["talk.politics.guns"] == 3
    assert summary.counts["talk.politics.mideast"] == 8
    assert summary.counts["soc.religion.christian"] == 6
    assert summary.counts["talk.religion.misc"] == 2
    assert summary.counts["sci.electronics"] == 6


def test_step_on_real_counts() -> None:
    train = _synthetic(REAL_TRAIN_COUNTS)
    assert len(train) == 11314
    _, summary = newsgroups_step(train)
    in_range = sorted(label for label, count in REAL_TRAIN_COUNTS.items() if 591 <= count <= 600)
    assert summary.majority == in_range
    assert len(summary.majority) == 11
    assert summary.counts["comp.sys.ibm.pc.hardware"] == 59
    assert summary.counts["talk.religion.misc"] == 38
    assert summary.counts["rec.sport.hockey"] == 600
    assert summary.ratio == pytest.approx(38 / 600)


def test_step_without_class_in_range(newsgroups) -> None:
    with pytest.raises(DataError, match="no class has between 591 and 600"):
        newsgroups_step(newsgroups.train)


def test_longtail_counts_on_fixture(newsgroups) -> None:
    _, summary = newsgroups_longtail(newsgroups.train, ratio=0.1)
    assert summary.params["order"][:4] == [
        "talk.politics.mideast",
        "sci.electronics",
        "soc.religion.christian",
        "comp.os.ms-windows.misc",
    ]
    assert summary.counts == {
        "alt.atheism": 3,
        "comp.graphics": 5,
        "comp.os.ms-windows.misc": 10,
        "comp.sys.ibm.pc.hardware": 2,
        "comp.sys.mac.hardware": 4,
        "comp.windows.x": 9,
        "misc.forsale": 2,
        "rec.autos": 8,
        "rec.motorcycles": 4,
        "rec.sport.baseball": 7,
        "rec.sport.hockey": 6,
        "sci.crypt": 4,
        "sci.electronics": 12,
        "sci.med": 6,
        "sci.space": 3,
        "soc.religion.christian": 11,
        "talk.politics.guns": 2,
        "talk.politics.mideast": 15,
        "talk.politics.misc": 2,
        "talk.religion.misc": 2,
    }
    assert summary.ratio == pytest.approx(2 / 15)


def test_longtail_on_real_counts() -> None:
    _, summary = newsgroups_longtail(_synthetic(REAL_TRAIN_COUNTS), ratio=0.1)
    assert summary.params["order"][0] == "rec.sport.hockey"
    assert summary.counts["rec.sport.hockey"] == 600
    assert summary.counts["talk.religion.misc"] == 60
    assert summary.counts["soc.religion.christian"] == 532  # 600 * 0.1 ** (1 / 19) = 531.52
    assert summary.ratio == pytest.approx(0.1)


def test_longtail_rejects_bad_order(newsgroups) -> None:
    with pytest.raises(ValueError, match="order must list each training class once"):
        newsgroups_longtail(newsgroups.train, order=["alt.atheism"])
    with pytest.raises(ValueError, match="ratio must be in"):
        newsgroups_longtail(newsgroups.train, ratio=0)


def test_sweep_ratios_on_real_counts() -> None:
    results = ratio_sweep(_synthetic(REAL_TRAIN_COUNTS), kind="longtail")
    assert [ratio for ratio, _, _ in results] == [0.1, 0.2, 0.3, 0.4, 0.5]
    smallest = [summary.counts["talk.religion.misc"] for _, _, summary in results]
    assert smallest == [60, 120, 180, 240, 300]
    assert [round(summary.ratio, 3) for _, _, summary in results] == [0.1, 0.2, 0.3, 0.4, 0.5]


def test_sweep_step_and_imdb(imdb, newsgroups) -> None:
    step = ratio_sweep(newsgroups.train, kind="step", ratios=[0.5], keep_range=(9, 10))
    assert step[0][2].counts["talk.politics.mideast"] == 8
    imdb_sweep = ratio_sweep(imdb.train, kind="imdb", ratios=[0.1, 0.5])
    assert [summary.counts["neg"] for _, _, summary in imdb_sweep] == [2, 10]
    with pytest.raises(ValueError, match="kind must be"):
        ratio_sweep(imdb.train, kind="zipf")


def test_builders_leave_input_alone(newsgroups) -> None:
    before = list(newsgroups.train)
    newsgroups_longtail(newsgroups.train)
    assert newsgroups.train == before
