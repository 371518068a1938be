"""The DailyMed client against a real local HTTP server: paging, retries, response checks, rate limit."""

from __future__ import annotations

import email.utils
import json
import random

import pytest

from admelabel.dailymed.client import (
    USER_AGENT,
    DailyMedClient,
    RateLimiter,
    RetryPolicy,
    parse_count,
    parse_link,
    parse_retry_after,
    resolve_base_url,
)
from admelabel.errors import FetchError
from dailymed_server import FakeDailyMed, load_catalogue

pytestmark = pytest.mark.network

INOMAX = "762b51be-1893-4cd1-9511-e645fc420d3a"


@pytest.fixture(scope="module")
def catalogue(shared_spl):
    return load_catalogue(shared_spl, count=12, extra_set_ids=(INOMAX,))


@pytest.fixture()
def server(catalogue):
    with FakeDailyMed(catalogue, retry_after=0, slow_seconds=2.0) as fake:
        yield fake


def make_client(server: FakeDailyMed, **retry: float) -> DailyMedClient:
    policy = RetryPolicy(attempts=int(retry.pop("attempts", 4)), backoff=0.01, max_backoff=0.05, timeout=retry.pop("timeout", 1.0))
    return DailyMedClient(base_url=server.base_url, rate=200, retry=policy, seed=0)


# ---- parsing helpers ----------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(100, 100), ("100", 100), (" 7 ", 7), ("null", None), (None, None), ("", None), ("abc", None), (True, None)])
def test_parse_count_numbers_and_strings(value, expected):
    assert parse_count(value) == expected


@pytest.mark.parametrize(("value", "expected"), [("null", None), ("NULL", None), ("", None), (None, None), ("http://x/y?page=2", "http://x/y?page=2")])
def test_parse_link_null_string(value, expected):
    assert parse_link(value) == expected


def test_parse_retry_after_forms():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(date, now=1_000_000) == pytest.approx(30.0)
    assert parse_retry_after(date, now=1_000_100) == 0.0


def test_resolve_base_url_env_and_invalid(monkeypatch):
    monkeypatch.setenv("ADMELABEL_DAILYMED_URL", "http://127.0.0.1:9/mirror/")
    assert resolve_base_url() == "http://127.0.0.1:9/mirror"
    assert resolve_base_url("https://example.org/v2") == "https://example.org/v2"
    with pytest.raises(ValueError, match="ftp://x"):
        resolve_base_url("ftp://x")


def test_retry_delay_full_jitter_bounds():
    policy = RetryPolicy(backoff=1.0, max_backoff=5.0)
    rng = random.Random(1)
    for retry, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (10, 5.0)):
        delays = [policy.delay(retry, rng) for _ in range(200)]
        assert min(delays) >= 0.0
        assert max(delays) <= ceiling
        assert max(delays) > ceiling * 0.8


def test_rate_limiter_spacing_with_fake_clock():
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    limiter = RateLimiter(4.0, clock=lambda: now[0], sleep=sleep)
    starts = []
    for _ in range(9):
        slot = limiter.acquire()
        starts.append(now[0])
        limiter.release(slot)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps[:3] == [pytest.approx(0.25)] * 3
    assert all(gap >= 0.25 - 1e-9 for gap in gaps)
    assert max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts) == 4


def test_rate_limiter_waits_for_slow_responses():
    """Request k + 1 starts only one second after the response to request 1 began."""
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    limiter = RateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    first = limiter.acquire()
    second = limiter.acquire()
    assert now[0] == pytest.approx(0.5)
    now[0] = 3.0
    limiter.release(first)
    limiter.release(second)
    limiter.acquire()
    assert now[0] == pytest.approx(4.0)


def test_rate_limiter_below_one_per_second():
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds

    limiter = RateLimiter(0.5, clock=lambda: now[0], sleep=sleep)
    limiter.release(limiter.acquire())
    limiter.release(limiter.acquire())
    assert now[0] == pytest.approx(2.0)


def test_rate_limiter_rejects_zero():
    with pytest.raises(ValueError, match="--rate"):
        RateLimiter(0)


def test_zip_url_next_to_services():
    client = DailyMedClient(base_url="https://dailymed.nlm.nih.gov/dailymed/services/v2")
    assert client.zip_url(INOMAX, 4) == f"https://dailymed.nlm.nih.gov/dailymed/getFile.cfm?type=zip&setid={INOMAX}&version=4"


# ---- against the server -------------------------------------------------


def test_listing_pages_with_string_counts(server, catalogue):
    client = make_client(server)
    items = list(client.iter_listing({"pagesize": 5}))
    assert [item.set_id for item in items] == sorted(catalogue.versions)
    assert server.count("spls.json") == 3
    assert client.requests_sent == 3
    inomax = next(item for item in items if item.set_id == INOMAX)
    assert inomax.version == 14


def test_listing_limit_stops_paging(server):
    client = make_client(server)
    totals = []
    items = list(client.iter_listing({"pagesize": 5}, limit=7, on_total=totals.append))
    assert len(items) == 7
    assert totals == [7]
    assert server.count("spls.json") == 2


def test_listing_ignores_foreign_next_link(server, catalogue, monkeypatch):
    original = server.listing

    def listing_with_foreign_links(query, base):
        payload = original(query, base)
        if payload["metadata"]["next_page_url"] != "null":
            payload["metadata"]["next_page_url"] = "https://dailymed.nlm.nih.gov/dailymed/services/v2/spls.json?page=2"
        return payload

    monkeypatch.setattr(server, "listing", listing_with_foreign_links)
    items = list(make_client(server).iter_listing({"pagesize": 5}))
    assert len(items) == len(catalogue.versions)
    assert all(record.target.startswith("/dailymed/services/v2/spls.json") for record in server.requests)


def test_user_agent_names_admelabel(server):
    make_client(server).download_latest(INOMAX)
    assert server.requests[0].user_agent == USER_AGENT
    assert USER_AGENT.startswith("admelabel/0.")


@pytest.mark.parametrize("fault", ["429", "500", "truncate", "disconnect", "slow"])
def test_transient_fault_is_retried(server, fault):
    server.add_fault(f"{INOMAX}.xml", fault)
    client = make_client(server, timeout=0.5)
    data = client.download_latest(INOMAX)
    assert data.startswith(b"<?xml")
    assert server.count(f"{INOMAX}.xml") == 2
    assert client.retries == 1


def test_html_instead_of_json_is_retried(server):
    server.add_fault("spls.json", "html", "html")
    client = make_client(server)
    items = list(client.iter_listing({}))
    assert len(items) == 13
    assert server.count("spls.json") == 3


def test_html_every_time_raises(server):
    server.add_fault("spls.json", *["html"] * 3)
    client = make_client(server, attempts=3)
    with pytest.raises(FetchError, match="HTML where JSON was requested"):
        list(client.iter_listing({}))
    assert server.count("spls.json") == 3


def test_retry_after_is_honoured(catalogue):
    with FakeDailyMed(catalogue, retry_after=1) as server:
        server.add_fault(f"{INOMAX}.xml", "429")
        make_client(server).download_latest(INOMAX)
        first, second = server.requests
    assert first.status == 429
    assert second.time - first.time >= 0.99


def test_not_found_is_not_retried(server):
    client = make_client(server)
    with pytest.raises(FetchError, match="HTTP 404"):
        client.download_latest("00000000-0000-0000-0000-000000000000")
    assert len(server.requests) == 1


def test_truncated_zip_raises_after_retries(server):
    server.add_fault("getFile.cfm", "badzip", "badzip")
    client = make_client(server, attempts=2)
    with pytest.raises(FetchError, match="truncated"):
        client.download_zip(INOMAX, 4)
    assert server.count("getFile.cfm") == 2


def test_history_versions_newest_first(server):
    history = make_client(server).history(INOMAX)
    assert [item.version for item in history] == [14, 4, 2]
    assert all(item.set_id == INOMAX for item in history)


def test_history_from_real_sample(server, shared_spl, monkeypatch):
    """The recorded DailyMed history response, served as it is, with its "null" paging links."""
    sample = json.loads((shared_spl / "api_samples" / f"spls_{INOMAX}_history.json").read_text(encoding="utf-8"))
    monkeypatch.setattr(server, "history", lambda set_id, base: sample)
    history = make_client(server).history(INOMAX)
    assert [item.version for item in history] == [14, 13, 12, 9, 7, 6, 4, 3, 2, 1]
    assert history[0].published_date == "Feb 26, 2019"
    assert history[0].title == "INOMAX (NITRIC OXIDE) GAS [INO THERAPEUTICS]"


def test_rate_limit_holds_at_server(server):
    """Four threads share one client at --rate 10; the server never counts more than 10 in a second."""
    from concurrent.futures import ThreadPoolExecutor

    client = DailyMedClient(base_url=server.base_url, rate=10, retry=RetryPolicy(attempts=2, backoff=0.01, timeout=2.0))
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: client.download_latest(INOMAX), range(24)))
    assert len(server.requests) == 24
    assert server.max_requests_per_second() <= 10
