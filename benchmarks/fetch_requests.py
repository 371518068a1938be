"""Measure how `admelabel fetch` treats a server: requests per label, re-downloads, request rate.

Starts the local imitation of DailyMed web services (tests/dailymed_server.py) on
127.0.0.1 with real labels, runs the real CLI in subprocesses against it, and prints:

1. requests per new label on a fresh corpus (target: 1 plus the listing pages per label);
2. requests and downloads on a second run (target: the listing pages only, no downloads);
3. labels downloaded again after a run killed with SIGKILL part way (target: 0);
4. the highest number of requests the server saw in any one-second window, per run,
   against the configured --rate (target: never above), including a run whose
   requests meet 429 and 500 responses and are retried.

Usage: python benchmarks/fetch_requests.py [--labels 120] [--rate 10] [--spl-dir ../shared/data/spl]
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests"))

from dailymed_server import FakeDailyMed, load_catalogue  # noqa: E402


def cli(server: FakeDailyMed, home: Path, rate: float, concurrency: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-c", "from admelabel.cli import main; main()", "fetch",
        "--base-url", server.base_url, "--data-dir", str(home), "--rate", str(rate),
        "--concurrency", str(concurrency), "--backoff", "0.05", "--timeout", "10", *extra,
    ]


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), COLUMNS="200")
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def window_max(server: FakeDailyMed, start: int) -> int:
    times = sorted(record.time for record in server.requests[start:])
    best, end = 0, 0
    for index, first in enumerate(times):
        while end < len(times) and times[end] < first + 1.0:
            end += 1
        best = max(best, end - index)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=120, help="labels the server lists")
    parser.add_argument("--rate", type=float, default=10.0, help="--rate given to admelabel fetch, requests per second")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--kill-after", type=int, default=40, help="labels completed before the interrupted run is killed")
    parser.add_argument("--spl-dir", type=Path, default=Path(os.environ.get("ADMELABEL_SHARED_SPL", REPO_ROOT.parent / "shared" / "data" / "spl")), help="folder of real labels with MANIFEST.tsv")
    args = parser.parse_args()

    catalogue = load_catalogue(args.spl_dir, count=args.labels)
    rx = sorted(label.set_id for label in catalogue.latest() if label.doc_type == "34391-3")
    pagesize = 100
    listing_pages = -(-len(rx) // pagesize)
    rows: list[tuple[str, str, str]] = []
    rates: list[tuple[str, int]] = []
    failures = 0
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"server lists {len(rx)} human Rx labels ({listing_pages} listing pages of {pagesize}); --rate {args.rate:g}, --concurrency {args.concurrency}")

    with FakeDailyMed(catalogue, retry_after=1) as server, tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "fresh"

        # 1. Fresh corpus.
        start = len(server.requests)
        began = time.monotonic()
        result = run(cli(server, home, args.rate, args.concurrency))
        elapsed = time.monotonic() - began
        failures += result.returncode != 0
        fresh = server.requests[start:]
        downloads = sum(1 for record in fresh if "/spls/" in record.target and record.target.endswith(".xml"))
        per_label = len(fresh) / len(rx)
        target = 1 + listing_pages / len(rx)
        rows.append(("requests per new label (fresh corpus)", f"{per_label:.4f} ({len(fresh)} requests, {downloads} downloads, {len(rx)} labels)", f"1 + {listing_pages}/{len(rx)} = {target:.4f}"))
        rows.append(("time for the fresh run", f"{elapsed:.1f} s", f"{len(fresh) / args.rate:.1f} s is the floor at --rate"))
        rates.append(("fresh run", window_max(server, start)))

        # 2. Second run on the same corpus.
        start = len(server.requests)
        result = run(cli(server, home, args.rate, args.concurrency))
        failures += result.returncode != 0
        second = server.requests[start:]
        second_downloads = sum(1 for record in second if "/spls/" in record.target)
        rows.append(("second run: requests / label downloads", f"{len(second)} / {second_downloads}", f"{listing_pages} / 0"))

        # 3. Interrupted run, then a rerun.
        home2 = Path(scratch) / "interrupted"
        victim = rx[min(args.kill_after, len(rx) - 1)]
        server.add_fault(f"{victim}.xml", "hang")
        server.hung.clear()
        start = len(server.requests)
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        process = subprocess.Popen(cli(server, home2, args.rate, 1), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server.hung.wait(timeout=600)
        time.sleep(0.3)
        process.send_signal(signal.SIGKILL)
        process.wait()
        server.release_hung()
        db = sqlite3.connect(home2 / "corpus.sqlite")
        completed = {row[0] for row in db.execute("SELECT set_id FROM labels WHERE status = 'ok'")}
        db.close()
        before = server.label_downloads()
        rates.append(("run killed part way", window_max(server, start)))
        start = len(server.requests)
        result = run(cli(server, home2, args.rate, args.concurrency))
        failures += result.returncode != 0
        after = server.label_downloads()
        again = sorted(set_id for set_id in completed if after.get(set_id, 0) > before.get(set_id, 0))
        db = sqlite3.connect(home2 / "corpus.sqlite")
        finished = db.execute("SELECT COUNT(DISTINCT set_id) FROM labels WHERE status = 'ok'").fetchone()[0]
        db.close()
        rows.append(("labels downloaded again after a killed run", f"{len(again)} of {len(completed)} completed before the kill", "0"))
        rows.append(("labels in the corpus after the rerun", f"{finished} of {len(rx)}", f"{len(rx)}"))
        rates.append(("rerun after the kill", window_max(server, start)))

        # 4. A run whose requests meet 429 (Retry-After: 1) and 500 responses.
        home3 = Path(scratch) / "faults"
        for set_id in rx[:: max(1, len(rx) // 10)]:
            server.add_fault(f"{set_id}.xml", "429", "500")
        start = len(server.requests)
        result = run(cli(server, home3, args.rate, args.concurrency))
        failures += result.returncode != 0
        retried = sum(1 for record in server.requests[start:] if record.status in (429, 500))
        rows.append(("run with injected 429/500 responses: requests", f"{len(server.requests) - start} ({retried} got 429 or 500 and were retried)", f"{len(rx) + listing_pages + retried}"))
        rates.append(("run with 429/500 retries", window_max(server, start)))

    width = max(len(name) for name, _, _ in rows)
    print()
    print(f"{'measure'.ljust(width)}  result  |  target")
    for name, value, goal in rows:
        print(f"{name.ljust(width)}  {value}  |  {goal}")
    print()
    print(f"highest requests in any one-second window (server clock) against --rate {args.rate:g}:")
    for name, count in rates:
        verdict = "within" if count <= args.rate else "ABOVE"
        print(f"  {name.ljust(28)} {count}  ({verdict} the limit)")
    if failures:
        print(f"\n{failures} fetch runs exited non-zero")
    return 1 if failures or any(count > args.rate for _, count in rates) else 0


if __name__ == "__main__":
    raise SystemExit(main())
