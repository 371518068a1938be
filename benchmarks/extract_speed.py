"""Labels per second of `admelabel extract` beside a bare lxml pass over the same files, in one run.

The bare pass parses each file with lxml and collects the text of every
<paragraph> under the outermost 43682-4 sections; it is the floor that any
extraction has to pay. Each contender runs ``--repeat`` times over the corpus
after one warm-up pass (to load the files into the page cache) and the best
run counts. Usage:

    .venv/bin/python benchmarks/extract_speed.py [SPL_FOLDER] [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

V = "{urn:hl7-org:v3}"


def bare_lxml_pass(files: list[Path]) -> int:
    """Parse every file and collect PK paragraph text; return the number of paragraphs."""
    count = 0
    for file in files:
        try:
            tree = etree.parse(str(file))
        except etree.XMLSyntaxError:
            continue
        for section in tree.iter(f"{V}section"):
            code = section.find(f"{V}code")
            if code is None or code.get("code") != "43682-4":
                continue
            parent_codes = [a.find(f"{V}code") for a in section.iterancestors(f"{V}section")]
            if any(c is not None and c.get("code") == "43682-4" for c in parent_codes):
                continue
            for paragraph in section.iter(f"{V}paragraph"):
                if "".join(paragraph.itertext()).strip():
                    count += 1
    return count


def admelabel_pass(files: list[Path], out: Path) -> int:
    """Run the library's extract_dataset over the files; return the number of paragraphs written."""
    from admelabel.extract import extract_dataset

    summary = extract_dataset(files, out)
    return summary.paragraphs


def best_time(func, repeat: int) -> float:
    func()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "spl"
    parser.add_argument("folder", nargs="?", type=Path, default=default)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = sorted(args.folder.glob("*.xml"))
    if not files:
        print(f"no SPL files in {args.folder}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "adme.jsonl"
        bare = best_time(lambda: bare_lxml_pass(files), args.repeat)
        ours = best_time(lambda: admelabel_pass(files, out), args.repeat)
    bare_rate = len(files) / bare
    our_rate = len(files) / ours
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, one process")
    print(f"files: {len(files)} from {args.folder}")
    print(f"bare lxml pass:     {bare_rate:8.1f} labels/s ({bare:.2f} s)")
    print(f"admelabel extract:  {our_rate:8.1f} labels/s ({ours:.2f} s, reading, labelling and writing JSONL)")
    print(f"ratio (extract / bare): {our_rate / bare_rate:.2f}  (goal: at least 0.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
