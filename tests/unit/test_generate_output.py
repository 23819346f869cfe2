"""``beaconhouse generate`` end to end on small runs: the files, their content, the truth.

The truth is recomputed here from the files with a deliberately plain implementation
(datetime and zoneinfo, urllib, dicts), independent of ``beaconhouse.generate.truth``.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import re
import tomllib
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import msgspec
import pytest

from beaconhouse.config import Settings, Site
from beaconhouse.events.contract import EVENT_DECODER, MAX_EVENTS_PER_PAYLOAD, MAX_PAYLOAD_BYTES
from beaconhouse.generate.cli import GenerateOptions, run
from beaconhouse.generate.malformed import KINDS, UNDECODABLE, UNKNOWN_WEBSITE_BASE, VARIANT_REASONS
from beaconhouse.generate.useragents import BOT_USER_AGENTS, BROWSERS

pytestmark = pytest.mark.unit

START = dt.date(2026, 10, 23)  # Fri..Sun: the European clocks go back on the 25th
PATH_RE = re.compile(
    r"^site=(\d+)/date=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/events-(\d+)-(\d{4}-\d{2}-\d{2})T(\d{2})\.jsonl\.gz$"
)
UTC = dt.UTC


def generate(root: Path, **kwargs):
    options = {"to": str(root), "sites": 3, "start": START, "days": 3, "visitors": 400, "seed": 7}
    options.update(kwargs)
    return run(Settings(), GenerateOptions(**options))


def read_lines(root: Path) -> dict[str, list[bytes]]:
    """Every landing file (relative path -> its lines)."""
    files = {}
    for path in sorted(root.rglob("*.jsonl.gz")):
        relative = path.relative_to(root).as_posix()
        files[relative] = gzip.decompress(path.read_bytes()).split(b"\n")[:-1]
    return files


def decode_events(line: bytes) -> list:
    """A payload line's events, each decoded with the contract's EVENT_DECODER."""
    if line.startswith(b"["):
        return [EVENT_DECODER.decode(raw) for raw in msgspec.json.decode(line, type=list[msgspec.Raw])]
    return [EVENT_DECODER.decode(line)]


def ms(moment) -> int:
    return round(moment.timestamp() * 1000)


class Run:
    def __init__(self, root: Path, report):
        self.root = root
        self.report = report
        self.files = read_lines(root)
        self.truth = json.loads((root / "_truth" / "truth.json").read_text())
        self.malformed = {(m["path"], m["line"]): m for m in self.truth["malformed"]}
        self.sites = {s["website_id"]: Site(**s) for s in self.truth["sites"]}
        self.events = []  # (path, line number, payload size, event)
        for path, lines in self.files.items():
            for number, line in enumerate(lines, start=1):
                if (path, number) in self.malformed:
                    continue
                events = decode_events(line)
                for event in events:
                    self.events.append((path, number, len(events), event))


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("generated")
    return Run(root, generate(root))


def unique(events):
    seen, out = set(), []
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            out.append(event)
    return out


# --- determinism -----------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    small = {"sites": 2, "days": 2, "visitors": 120}
    generate(tmp_path / "a", **small)
    generate(tmp_path / "b", **small)
    generate(tmp_path / "c", seed=8, **small)
    a, b, c = snapshot(tmp_path / "a"), snapshot(tmp_path / "b"), snapshot(tmp_path / "c")
    assert len(a) > 20
    assert a == b
    common = set(a) & set(c)
    assert all(a[name] != c[name] for name in common if name.endswith(".jsonl.gz"))
    assert a["_truth/truth.json"] != c["_truth/truth.json"]


def test_a_sites_traffic_does_not_depend_on_the_other_sites(tmp_path):
    generate(tmp_path / "one", sites=1, days=2, visitors=120)
    generate(tmp_path / "two", sites=2, days=2, visitors=120)
    one, two = snapshot(tmp_path / "one"), snapshot(tmp_path / "two")
    site_1 = {name: data for name, data in two.items() if name.startswith("site=1/")}
    assert site_1 == {name: data for name, data in one.items() if name.startswith("site=")}


# --- payloads ----------------------------------------------------------------------------


def test_every_line_decodes_except_the_recorded_malformed_ones(out):
    malformed_seen = 0
    for path, lines in out.files.items():
        for number, line in enumerate(lines, start=1):
            if (path, number) in out.malformed:
                malformed_seen += 1
                continue
            assert len(line) <= MAX_PAYLOAD_BYTES
            decode_events(line)  # raises if invalid
    assert malformed_seen == len(out.truth["malformed"]) == out.report.malformed_payloads > 0


def semantic_problem(line: bytes, sites: dict[int, Site]) -> str | None:
    """What is wrong with a payload that decodes, per the contract's semantic rules."""
    if len(line) > MAX_PAYLOAD_BYTES:
        return "oversize"
    if line.startswith(b"["):
        raws = msgspec.json.decode(line, type=list[msgspec.Raw])
        if not raws:
            return "empty_array"
        events = [EVENT_DECODER.decode(raw) for raw in raws]
    else:
        events = [EVENT_DECODER.decode(line)]
    tracking = {site.tracking_id for site in sites.values()}
    for event in events:
        if event.website_id is None and event.tracking_id is None:
            return "missing_site"
        if (event.website_id is not None and event.website_id not in sites) or (
            event.tracking_id is not None and event.tracking_id not in tracking
        ):
            return "unknown_website"
        if event.type == "pageview" and (event.page is None or not event.page.url):
            return "pageview_without_url"
        if event.received_at is not None and event.ts - event.received_at > dt.timedelta(days=365):
            return "future_timestamp"
    return None


@pytest.fixture(scope="module")
def many_malformed(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("malformed")
    return Run(root, generate(root, sites=2, days=1, visitors=300, malformed_share=0.03))


def test_malformed_payloads_fail_as_their_kind_says(many_malformed):
    run_ = many_malformed
    kinds = Counter()
    for (path, number), record in run_.malformed.items():
        line = run_.files[path][number - 1]
        kind = record["kind"]
        kinds[kind] += 1
        assert record["reason"] == VARIANT_REASONS.get((kind, record["detail"]), KINDS[kind])
        assert record["bytes"] == len(line)
        if kind in UNDECODABLE:
            with pytest.raises((msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError)):
                decode_events(line)
        else:
            assert semantic_problem(line, run_.sites) == kind, record
            if kind == "unknown_website":
                event = decode_events(line)[0]
                number_ = event.website_id or int(event.tracking_id.removeprefix("BH-"))
                assert number_ >= UNKNOWN_WEBSITE_BASE
    assert set(kinds) == set(KINDS), "every kind of malformed payload appears"
    # every other line is fine, semantically too
    for path, lines in run_.files.items():
        for number, line in enumerate(lines, start=1):
            if (path, number) not in run_.malformed:
                assert semantic_problem(line, run_.sites) is None


def test_batches_are_arrays_of_2_to_20_events(out):
    sizes = Counter(size for _, _, size, _ in out.events)
    assert max(sizes) <= MAX_EVENTS_PER_PAYLOAD
    arrays = {(path, number) for path, number, size, _ in out.events if size > 1}
    lines = sum(len(lines) for lines in out.files.values())
    assert 0.005 < len(arrays) / lines < 0.1
    for path, number in arrays:
        assert out.files[path][number - 1].startswith(b"[")


def test_every_event_has_ids_and_timestamps(out):
    for _, _, _, event in out.events:
        assert event.event_id is not None
        assert event.event_id.version == 4
        assert event.visitor_id
        assert event.session_id
        assert event.website_id is not None or event.tracking_id is not None
        assert event.ts.tzinfo is not None
        assert event.received_at is not None
        assert event.received_at >= event.ts
        assert event.context is not None
        assert event.context.ip
        assert event.context.user_agent
    line = next(iter(out.files.values()))[0]
    assert re.search(rb'"ts":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"', line)


def test_delivery_delays_are_realistic(out):
    delays = sorted(ms(e.received_at) - ms(e.ts) for _, _, size, e in out.events if size == 1)
    median = delays[len(delays) // 2]
    assert 80 <= median <= 600
    all_late = [e for _, _, _, e in out.events if ms(e.received_at) - ms(e.ts) > 3_600_000]
    assert 0.003 < len(all_late) / len(out.events) < 0.05


# --- proportions ---------------------------------------------------------------------------


def test_bot_duplicate_and_malformed_shares(out):
    events = unique(e for _, _, _, e in out.events)
    bots = sum(1 for e in events if e.context.user_agent in BOT_USER_AGENTS)
    assert 0.13 < bots / len(events) < 0.17
    duplicates = len(out.events) - len(events)
    assert duplicates == out.report.duplicate_deliveries
    assert 0.0035 < duplicates / len(events) < 0.0065
    lines = sum(len(lines) for lines in out.files.values())
    assert 0.0004 < len(out.malformed) / lines < 0.002


def test_duplicates_are_byte_identical_and_some_arrive_in_later_files(out):
    first_seen: dict = {}
    later_file = 0
    for path, _number, _size, event in out.events:
        key = event.event_id
        if key in first_seen:
            original_path, original = first_seen[key]
            assert msgspec.json.encode(event) == msgspec.json.encode(original)
            later_file += original_path != path
        else:
            first_seen[key] = (path, event)
    assert later_file > 0


def test_device_mix(out):
    by_agent = {agent.user_agent: agent.device for agent in BROWSERS}
    visitors = {}
    for _, _, _, e in out.events:
        if e.context.user_agent in by_agent:
            visitors[e.visitor_id] = by_agent[e.context.user_agent]
    mix = Counter(visitors.values())
    total = sum(mix.values())
    assert 0.35 < mix["desktop"] / total < 0.65
    assert 0.3 < mix["mobile"] / total < 0.6
    assert 0.02 < mix["tablet"] / total < 0.1


def channel(event) -> str:
    query = parse_qs(urlsplit(event.page.url).query)
    referrer = urlsplit(event.page.referrer).hostname or ""
    if "gclid" in query or "msclkid" in query or "fbclid" in query:
        return "paid"
    if query.get("utm_medium") == ["email"]:
        return "email"
    if re.search(
        r"(^|\.)(google\.[a-z.]+|bing\.com|duckduckgo\.com|search\.yahoo\.com|ecosia\.org)$", referrer
    ):
        return "search"
    if re.search(r"(facebook|instagram|linkedin|reddit|youtube)\.com$|^t\.co$", referrer):
        return "social"
    if referrer:
        return "referral"
    return "direct"


def test_source_mix_of_landings(out):
    landings = [
        e
        for _, _, _, e in out.events
        if e.type == "pageview"
        and e.context.user_agent not in BOT_USER_AGENTS
        and (
            not e.page.referrer
            or urlsplit(e.page.referrer).hostname not in {s.domain for s in out.sites.values()}
        )
    ]
    mix = Counter(channel(e) for e in landings)
    total = sum(mix.values())
    expected = {"direct": 0.28, "search": 0.36, "social": 0.12, "referral": 0.08, "email": 0.05, "paid": 0.11}
    for name, share in expected.items():
        assert abs(mix[name] / total - share) < 0.05, (name, mix[name] / total)
    clicks = [parse_qs(urlsplit(e.page.url).query) for e in landings if channel(e) == "paid"]
    assert all("utm_source" in q and "utm_medium" in q and "utm_campaign" in q for q in clicks)
    assert {k for q in clicks for k in q} >= {"gclid", "msclkid", "fbclid"}


def test_content_variety(out):
    events = [e for _, _, _, e in out.events]
    transactions = [e for e in events if e.type == "transaction"]
    assert transactions
    assert all(t.ecommerce.items and t.ecommerce.revenue > 0 for t in transactions)
    assert {t.ecommerce.currency for t in transactions} == {"EUR", "USD", "JPY"}
    customs = [e for e in events if e.type == "event"]
    assert {e.event.category for e in customs} >= {"scroll", "outbound", "share"}
    assert any(e.event.value is not None for e in customs)
    assert any(e.dimensions for e in events)
    assert any(e.metrics for e in events)
    assert any(e.properties for e in events)
    assert any(e.user_id for e in events)
    languages = Counter(e.context.language for e in events if e.context.language)
    assert {"de-DE", "en-US", "ja-JP"} <= set(languages)
    assert any(":" in e.context.ip for e in events)
    assert any("." in e.context.ip for e in events)
    screens = {(e.context.screen.width, e.context.screen.height) for e in events if e.context.screen}
    assert len(screens) > 20


def test_page_popularity_is_zipf_like(out):
    views = Counter(
        e.page.url.split("?")[0]
        for _, _, _, e in out.events
        if e.type == "pageview"
        and e.website_id in (None, 1)
        and e.tracking_id in (None, "BH-1")
        and e.context.user_agent not in BOT_USER_AGENTS
    )
    ranked = [count for _, count in views.most_common()]
    assert ranked[0] == views["https://shop.example/"]
    # rank 1 vs rank 10: about 10 ** 1.1 apart under Zipf(1.1)
    assert 5 < ranked[0] / ranked[9] < 25
    assert all(e.page.title for _, _, _, e in out.events)


# --- sessions ----------------------------------------------------------------------------


def test_sessions_follow_the_local_day(out):
    """Traffic peaks in the site's local daytime, whatever its UTC offset."""
    for website_id, site in out.sites.items():
        tz = ZoneInfo(site.timezone)
        hours = Counter(
            e.ts.astimezone(tz).hour
            for _, _, _, e in out.events
            if (e.website_id == website_id or e.tracking_id == site.tracking_id)
            and e.context.user_agent not in BOT_USER_AGENTS
        )
        night = sum(hours[h] for h in (2, 3, 4))
        day = sum(hours[h] for h in (10, 11, 12))
        assert day > 5 * night, (website_id, hours)


def test_client_sessions_have_no_30_minute_gaps_and_are_30_minutes_apart(out):
    by_session = defaultdict(list)
    for e in unique(e for _, _, _, e in out.events):
        if e.context.user_agent not in BOT_USER_AGENTS:
            by_session[(e.visitor_id, e.session_id)].append(ms(e.ts))
    inside = [b - a for ts in by_session.values() for a, b in zip(sorted(ts), sorted(ts)[1:], strict=False)]
    # an event lost to a malformed payload can merge two gaps
    assert sum(gap >= 30 * 60_000 for gap in inside) <= len(out.malformed)
    spans = defaultdict(list)
    for (visitor, _), ts in by_session.items():
        spans[visitor].append((min(ts), max(ts)))
    between = [b[0] - a[1] for s in spans.values() for a, b in zip(sorted(s), sorted(s)[1:], strict=False)]
    assert between
    assert min(between) > 30 * 60_000
    returning = sum(
        1 for s in spans.values() if len({dt.datetime.fromtimestamp(a / 1000, UTC).date() for a, _ in s}) > 1
    )
    assert returning / len(spans) > 0.05


# --- layout --------------------------------------------------------------------------------


def test_files_are_per_site_and_hour_of_receipt(out):
    tracking = {site.tracking_id: site.website_id for site in out.sites.values()}
    seen = set()
    for path, lines in out.files.items():  # per site, in time order
        match = PATH_RE.match(path)
        assert match, path
        site, date, hour, site2, date2, hour2 = match.groups()
        assert site == site2
        assert date == date2
        assert hour == hour2
        start = dt.datetime.fromisoformat(f"{date}T{hour}:00:00+00:00")
        first_deliveries = []
        for number, line in enumerate(lines, start=1):
            if (path, number) in out.malformed:
                continue
            events = decode_events(line)
            received = {e.received_at for e in events}
            assert len(received) == 1, "an array shares its received_at"
            received_at = received.pop()
            redelivery = all(e.event_id in seen for e in events)
            seen.update(e.event_id for e in events)
            if received_at < start:  # only a re-delivered duplicate lands in a later file
                assert redelivery
                assert len(events) == 1
            else:
                assert received_at < start + dt.timedelta(hours=1)
            if not redelivery:
                first_deliveries.append(received_at)
            for e in events:
                assert (e.website_id or tracking[e.tracking_id]) == int(site)
        assert first_deliveries == sorted(first_deliveries), "lines are in delivery order"


def test_late_events_land_in_later_files(out):
    late = [(path, e) for path, _, _, e in out.events if e.received_at - e.ts > dt.timedelta(hours=1)]
    assert late
    for path, e in late:
        hour = dt.datetime.strptime(PATH_RE.match(path).group(5) + PATH_RE.match(path).group(6), "%Y-%m-%d%H")
        assert hour.replace(tzinfo=UTC) > e.ts


def test_sites_toml_configures_the_sites(out):
    data = tomllib.loads((out.root / "_truth" / "sites.toml").read_text())
    settings = Settings.model_validate(data)
    assert [s.website_id for s in settings.sites] == [1, 2, 3]
    assert len({s.timezone for s in settings.sites}) == 3
    assert settings.sites[0].tracking_id == "BH-1"
    assert tuple(settings.sites) == tuple(out.sites.values())


def test_the_configured_sites_are_used(tmp_path):
    sites = (
        Site(website_id=70, domain="alpha.test", timezone="Australia/Sydney"),
        Site(website_id=71, domain="beta.test", timezone="America/Chicago"),
        Site(website_id=72, domain="gamma.test"),
    )
    report = run(Settings(sites=sites), GenerateOptions(to=str(tmp_path), sites=2, days=1, visitors=50))
    assert report.website_ids == (70, 71)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_truth", "site=70", "site=71"]
    data = tomllib.loads((tmp_path / "_truth" / "sites.toml").read_text())
    assert [s["domain"] for s in data["sites"]] == ["alpha.test", "beta.test"]


# --- truth ---------------------------------------------------------------------------------


def source_of(event, domain):
    """GA's traffic source of an event, written out plainly."""
    query = parse_qs(urlsplit(event.page.url or "").query)
    utm = tuple(query.get(k, [""])[0] for k in ("utm_source", "utm_medium", "utm_campaign"))
    if any(utm):
        return ("campaign", *utm)
    host = (urlsplit(event.page.referrer).hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    if host and host != domain and not host.endswith("." + domain):
        return ("referral", host)
    return None


def plain_marts(run_: Run, website_id: int) -> dict[str, dict]:
    site = run_.sites[website_id]
    tz = ZoneInfo(site.timezone)
    events = [
        e
        for e in unique(e for _, _, _, e in run_.events)
        if (e.website_id or {site.tracking_id: website_id}.get(e.tracking_id)) == website_id
        and e.context.user_agent not in BOT_USER_AGENTS
    ]
    days: dict[str, dict] = defaultdict(
        lambda: {
            "pageviews": 0,
            "visitors": set(),
            "sessions": 0,
            "bounces": 0,
            "conversions": 0,
            "revenue": Decimal(0),
        }
    )
    by_visitor = defaultdict(list)
    for e in events:
        day = days[e.ts.astimezone(tz).date().isoformat()]
        day["visitors"].add(e.visitor_id)
        day["pageviews"] += e.type == "pageview"
        if e.type == "transaction":
            day["conversions"] += 1
            day["revenue"] += Decimal(str(e.ecommerce.revenue))
        by_visitor[e.visitor_id].append(e)
    for visitor_events in by_visitor.values():
        visitor_events.sort(key=lambda e: (e.ts, str(e.event_id)))
        sessions = []
        for e in visitor_events:
            src = source_of(e, site.domain)
            if sessions:
                start, last, source, pages = sessions[-1]
                same = (
                    e.ts - last.ts <= dt.timedelta(minutes=30)
                    and e.ts.astimezone(tz).date() == last.ts.astimezone(tz).date()
                    and (src is None or src == source)
                    and e.ts - start.ts < dt.timedelta(hours=24)
                )
                if same:
                    sessions[-1] = (start, e, source, pages + (e.type == "pageview"))
                    continue
            sessions.append((e, e, src, int(e.type == "pageview")))
        for start, _, _, pages in sessions:
            day = days[start.ts.astimezone(tz).date().isoformat()]
            day["sessions"] += 1
            day["bounces"] += pages == 1
    for day in days.values():
        day["visitors"] = len(day["visitors"])
        day["revenue"] = float(day["revenue"])
    return days


def test_mart_truth_matches_a_plain_recomputation_from_the_files(out):
    rows = {(r["website_id"], r["date"]): r for r in out.truth["marts_daily"]}
    assert {w for w, _ in rows} == {1, 2, 3}
    checked = 0
    for website_id in out.sites:
        for date, expected in plain_marts(out, website_id).items():
            row = rows[(website_id, date)]
            for key, value in expected.items():
                assert row[key] == pytest.approx(value, abs=1e-6), (website_id, date, key)
            checked += 1
    assert checked == len(rows)
    one = rows[(2, "2026-10-24")]
    assert one["sessions"] > 100
    assert 0 < one["bounces"] < one["sessions"]
    assert one["conversions"] > 0


def test_mart_csv_matches_json(out):
    with (out.root / "_truth" / "marts_daily.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(out.truth["marts_daily"])
    for row, doc in zip(rows, out.truth["marts_daily"], strict=True):
        assert int(row["sessions"]) == doc["sessions"]
        assert float(row["revenue"]) == doc["revenue"]


def test_raw_truth_matches_the_files(out):
    day = "2026-10-24"
    website_id = 1
    lines = sum(len(lines) for path, lines in out.files.items() if path.startswith(f"site=1/date={day}/"))
    seen, types, bots, duplicates, late = set(), Counter(), 0, 0, 0
    for path, _, _, e in sorted(out.events, key=lambda item: item[0]):
        if not path.startswith("site=1/") or e.ts.astimezone(UTC).date().isoformat() != day:
            continue
        if e.event_id in seen:
            duplicates += 1
            continue
        seen.add(e.event_id)
        types[e.type] += 1
        bots += e.context.user_agent in BOT_USER_AGENTS
        late += e.received_at - e.ts > dt.timedelta(hours=1)
    malformed = Counter(
        m["kind"] for m in out.truth["malformed"] if m["website_id"] == 1 and m["received_at"].startswith(day)
    )
    row = next(r for r in out.truth["raw_daily"] if r["website_id"] == website_id and r["date"] == day)
    assert row["payload_lines"] == lines
    assert row["events"] == {t: types[t] for t in ("pageview", "event", "transaction")}
    assert row["bot_events"] == bots
    assert row["duplicate_deliveries"] == duplicates
    assert row["late_events"] == late
    assert row["malformed"] == dict(malformed)
    totals = out.truth["totals"]
    assert sum(t["payload_lines"] for t in totals.values()) == sum(len(v) for v in out.files.values())
    assert out.report.payload_lines == sum(len(v) for v in out.files.values())


def test_verify_mode_decodes_everything_it_wrote(tmp_path):
    report = generate(tmp_path, sites=2, days=1, visitors=100, verify=True)
    assert report.events > 0


def test_the_loader_quarantines_each_malformed_payload_with_the_recorded_reason(many_malformed):
    """The truth's reasons are the loader's: validate every malformed line for real."""
    from beaconhouse.events.contract import MAX_PAYLOAD_BYTES  # noqa: F401 - documents the oversize kind
    from beaconhouse.ingest.events_builder import EventBatch, Lineage, SiteKeys
    from beaconhouse.ingest.file_reader import _read_json_lines

    run_ = many_malformed
    sites = SiteKeys({"BH-1": 1, "BH-2": 2}, {1: "BH-1", 2: "BH-2"})
    checked = 0
    for (path, number), record in run_.malformed.items():
        batch = EventBatch(sites)
        received = int(
            __import__("datetime")
            .datetime.fromisoformat(record["received_at"].replace("Z", "+00:00"))
            .timestamp()
            * 1000
        )
        _read_json_lines(batch, run_.files[path][number - 1] + b"\n", Lineage("file", path), received)
        assert [r.reason for r in batch.rejections] == [record["reason"]], (
            record["kind"],
            record["detail"],
            batch.rejections,
        )
        checked += 1
    assert checked >= 20
