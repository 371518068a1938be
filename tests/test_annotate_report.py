"""The HTML curation report: self-contained, escaped, and its filters checked in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from admelabel.annotate import annotate_to_file, load_annotator, read_annotations
from admelabel.report import render_report

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO_ROOT / "test-artifacts"

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
)


@pytest.fixture(scope="module")
def annotator(tiny_adme_model):
    return load_annotator(tiny_adme_model, batch_size=16, device="cpu")


@pytest.fixture(scope="module")
def real_report(annotator, shared_spl, tmp_path_factory) -> tuple[Path, list[dict]]:
    """An HTML report and the JSONL records of the first 40 real labels."""
    folder = tmp_path_factory.mktemp("report")
    sources = sorted(shared_spl.glob("*.xml"))[:40]
    annotate_to_file(sources, folder / "adme.jsonl", annotator)
    annotate_to_file(sources, folder / "report.html", annotator)
    return folder / "report.html", list(read_annotations(folder / "adme.jsonl"))


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not installed (scripts/install.sh installs the Debian package)")
    return path


def dump_dom(url: str, tmp_path: Path) -> str:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    command = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return completed.stdout


def visible_count(dom: str) -> int:
    match = re.search(r'id="visible-count">(\d+)<', dom)
    assert match, "the report has no visible-count element"
    return int(match.group(1))


def test_report_is_self_contained(annotator, fixtures_dir, tmp_path):
    out = tmp_path / "report.html"
    annotate_to_file([fixtures_dir / "spl"], out, annotator)
    text = out.read_text(encoding="utf-8")
    for pattern in ("<script src", "<link", "@import", "url(", "<img", "<iframe"):
        assert pattern not in text.lower(), pattern
    assert text.count('<tr class="p"') == 32
    assert text.count('<section class="drug"') == 5
    assert "Labels without PK paragraphs (1)" in text
    assert not out.with_name("report.html.partial").exists()


def test_report_escapes_label_text(annotator, fixtures_dir, tmp_path):
    out = tmp_path / "adme.jsonl"
    annotate_to_file([fixtures_dir / "spl" / "old_format.xml"], out, annotator)
    records = list(read_annotations(out))
    records[0]["text"] = '<script>alert("x")</script> & <b>bold</b>'
    records[0]["title"] = "<i>Drug</i>"
    html = render_report(records, failures=[("bad<file>.xml", "not an SPL document")])
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "&lt;i&gt;Drug&lt;/i&gt;" in html
    assert "bad&lt;file&gt;.xml: not an SPL document" in html


def _body(html: str) -> str:
    """The page without its generation line, which carries the time."""
    return re.sub(r'<p class="meta">.*?</p>', "", html)


def test_report_command_rebuilds_html_from_jsonl(annotator, fixtures_dir, tmp_path):
    from typer.testing import CliRunner

    from admelabel.cli import app

    annotate_to_file([fixtures_dir / "spl"], tmp_path / "adme.jsonl", annotator)
    annotate_to_file([fixtures_dir / "spl"], tmp_path / "direct.html", annotator)
    summary = tmp_path / "summary.json"
    summary.write_text('{"failures": [{"source": "bad.xml", "reason": "not an SPL document"}]}', encoding="utf-8")

    result = CliRunner().invoke(app, ["report", str(tmp_path / "adme.jsonl"), "--out", str(tmp_path / "rebuilt.html"),
                                      "--summary-json", str(summary)])
    assert result.exit_code == 0, result.output
    rebuilt = (tmp_path / "rebuilt.html").read_text(encoding="utf-8")
    direct = (tmp_path / "direct.html").read_text(encoding="utf-8")
    assert rebuilt.count('<tr class="p"') == direct.count('<tr class="p"') == 32
    assert "bad.xml: not an SPL document" in rebuilt
    without_failures = CliRunner().invoke(app, ["report", str(tmp_path / "adme.jsonl"), "--out", str(tmp_path / "plain.html")])
    assert without_failures.exit_code == 0, without_failures.output
    assert _body((tmp_path / "plain.html").read_text(encoding="utf-8")) == _body(direct)


def test_report_command_rejects_other_files(tmp_path):
    from typer.testing import CliRunner

    from admelabel.cli import app

    extracted = tmp_path / "adme.jsonl"
    extracted.write_text('{"text": "Absorption is rapid.", "label": "Absorption"}\n', encoding="utf-8")
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", str(extracted), "--out", str(out)])
    assert result.exit_code != 0
    assert "adme.jsonl" in result.output
    assert "record 1 is not an annotation record" in result.output
    assert not out.exists()
    not_json = tmp_path / "notes.jsonl"
    not_json.write_text("these are notes\n", encoding="utf-8")
    garbled = CliRunner().invoke(app, ["report", str(not_json), "--out", str(out)])
    assert garbled.exit_code != 0
    assert "line 1 is not valid JSON" in garbled.output
    assert "pass the JSONL or CSV that 'admelabel annotate' wrote" in garbled.output
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "none.jsonl"), "--out", str(out)])
    assert missing.exit_code != 0
    assert "none.jsonl" in missing.output
    bad_summary = CliRunner().invoke(app, ["report", str(extracted), "--out", str(out), "--summary-json", str(tmp_path / "x.json")])
    assert bad_summary.exit_code != 0
    assert "x.json" in bad_summary.output


def test_report_counts_per_class(real_report):
    report, records = real_report
    text = report.read_text(encoding="utf-8")
    paragraphs = [record for record in records if record["status"] == "ok"]
    counts = Counter(record["predicted"] for record in paragraphs)
    for label, count in counts.items():
        assert f'data-cls="{label}" ' in text
        assert re.search(rf'{label}<b class="vis">{count}</b> / {count}</span>', text), label
    assert text.count('<tr class="p"') == len(paragraphs)


def test_report_filters_in_chromium(real_report, tmp_path):
    report, records = real_report
    paragraphs = [record for record in records if record["status"] == "ok"]
    url = report.resolve().as_uri()

    dom = dump_dom(url, tmp_path)
    assert 'data-ready="1"' in dom, "the report's script did not run"
    assert len(re.findall(r'<tr class="p[" ]', dom)) == len(paragraphs)
    assert visible_count(dom) == len(paragraphs)

    top_class = Counter(record["predicted"] for record in paragraphs).most_common(1)[0][0]
    expected = sum(1 for record in paragraphs if record["predicted"] == top_class and record["agrees"] is False)
    assert expected > 0
    dom = dump_dom(f"{url}#class={top_class}&disagree=1", tmp_path)
    assert visible_count(dom) == expected
    assert len(re.findall(r'<tr class="p[^"]*"[^>]*hidden', dom)) == len(paragraphs) - expected

    threshold = sorted(record["confidence"] for record in paragraphs)[len(paragraphs) // 2]
    expected_low = sum(1 for record in paragraphs if record["confidence"] < threshold and "half-life" in (record["text"] + " ".join(record["section_path"])).lower())
    dom = dump_dom(f"{url}#low={threshold}&q=half-life", tmp_path)
    assert visible_count(dom) == expected_low

    dom = dump_dom(f"{url}#sort=asc", tmp_path)
    bodies = re.findall(r"<tbody>(.*?)</tbody>", dom, flags=re.S)
    assert len(bodies) == len({record["set_id"] for record in paragraphs})
    for body in bodies:
        confidences = [float(value) for value in re.findall(r'data-conf="([0-9.]+)"', body)]
        assert confidences == sorted(confidences)


def test_report_screenshot(real_report, tmp_path):
    report, _ = real_report
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "annotate-report.png"
    png.unlink(missing_ok=True)
    command = [
        chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={png}", "--window-size=1400,1000", f"{report.resolve().as_uri()}#disagree=1&sort=asc",
    ]
    subprocess.run(command, capture_output=True, timeout=120, check=True)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000
