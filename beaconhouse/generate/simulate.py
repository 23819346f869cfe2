"""Visitors, their sessions, and the events those sessions produce.

A site is simulated one site-local day at a time:

1. **Visitors.** About ``visitors`` people come that day (Poisson, scaled by the
   site's weekday pattern). A share of them (``Kind.returning_share``) visited before:
   they are drawn from everyone seen so far, favouring loyal visitors, and keep their
   visitor_id, device, user agent, IP and language. The rest are new.
2. **Sessions.** Each visitor has 1 + Poisson(0.2) sessions that day (0.45 for
   returning visitors). A session starts at a local hour drawn from the site's diurnal
   curve, so traffic follows the site's local day. A visitor's sessions are at least
   31 minutes apart (start after the previous one's last event), also across days.
3. **Pageviews.** A session bounces (one pageview) with the kind's bounce rate, or has
   1 + Geometric pageviews. Pages are drawn by Zipf popularity; gaps between them are
   log-normal (median 40 s), at most 25 minutes, so within a session no gap reaches 30
   minutes. A few sessions re-enter mid-way from a new campaign or referrer.
4. **Custom events** follow a pageview with the kind's event rate, before the next one.
   **Transactions** end converting sessions, after the checkout and confirmation pages.
5. **Bots** crawl at any hour, from their operators' networks, fetching pages with a
   flat popularity; each crawl is a new visitor. Their volume is sized so that bots
   make ``bot_share`` of the day's events.

The result is columnar (numpy arrays plus per-session lists); encoding is elsewhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import orjson

from beaconhouse.generate.ids import hex_ids, uuid4_strings
from beaconhouse.generate.ips import IpPool
from beaconhouse.generate.sites import LANGUAGES, SiteProfile
from beaconhouse.generate.sources import Landing, SourceSampler
from beaconhouse.generate.useragents import BOTS, BROWSERS, DEVICE_CLASSES, SCREENS

Array = npt.NDArray[Any]

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
#: sessions of one visitor start at least this long after the previous one ended
MIN_SESSION_GAP_MS = 31 * MINUTE_MS
#: the longest pause between two events of one simulated session
MAX_PAGE_GAP_MS = 25 * MINUTE_MS
MIN_PAGE_GAP_MS = 1_500
#: share of multi-page sessions that re-enter mid-way from a new source
REENTRY_SHARE = 0.04
_NEVER = np.iinfo(np.int64).min // 4

PAGEVIEW, EVENT, TRANSACTION = 0, 1, 2
EVENT_TYPES = ("pageview", "event", "transaction")

#: how events name their site: tracking_id only, website_id only, or both
SITE_KEY_SHARES = (0.75, 0.10, 0.15)
LOGGED_IN_SHARE = 0.08
EXPERIMENT_SHARE = 0.25
#: share of visitors whose SDK batches events into arrays
BATCHING_SHARE = 0.12
_PLANS = ("free", "free", "free", "pro", "team")
_PAYMENT = ("card", "card", "card", "paypal", "apple_pay", "klarna", "invoice")


def local_hours_utc_ms(day: dt.date, timezone: str) -> list[int]:
    """UTC epoch ms of each local hour 0..24 of ``day`` (24 is the next midnight)."""
    tz = ZoneInfo(timezone)
    out = []
    for hour in range(24):
        local = dt.datetime(day.year, day.month, day.day, hour, tzinfo=tz)
        out.append(int(local.timestamp() * 1000))
    out.append(local_midnight_utc_ms(day + dt.timedelta(days=1), timezone))
    return out


def local_midnight_utc_ms(day: dt.date, timezone: str) -> int:
    """UTC epoch ms of the start of ``day`` in ``timezone``."""
    local = dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone))
    return int(local.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Order:
    """A transaction: its ``ecommerce`` object, and ``properties`` the checkout adds."""

    ecommerce: dict[str, Any]
    properties: dict[str, Any] | None


@dataclass
class SimDay:
    """The events of one site over one local day, sorted by client time."""

    #: client time, epoch ms
    ts: Array
    #: PAGEVIEW, EVENT or TRANSACTION
    kind: Array
    #: index into the per-session lists below
    session: Array
    #: page index into the site's catalogue
    page: Array
    #: landing index (into ``landings``) on landing pageviews, else -1
    landing: Array
    #: the previous page of the session on other pageviews (the internal referrer), else -1
    prev_page: Array
    #: index into ``Kind.actions`` and into its labels, for custom events (else -1)
    action: Array
    label: Array
    #: custom event value, NaN for none
    value: Array
    #: index into ``orders``, for transactions (else -1)
    order: Array
    #: page load time metric, NaN for none
    load_ms: Array
    landings: list[Landing]
    orders: list[Order]
    # per session
    session_ids: list[str]
    visitor_ids: list[str]
    #: the JSON of the ``context`` object, and its user agent
    contexts: list[bytes]
    user_agents: list[str]
    #: 0: tracking_id, 1: website_id, 2: both
    site_keys: Array
    user_ids: list[str | None]
    dimensions: list[dict[str, str] | None]
    is_bot: Array
    batching: Array

    def __len__(self) -> int:
        return len(self.ts)


class VisitorPool:
    """Everyone who has visited a site so far, and what stays the same about them."""

    def __init__(self, profile: SiteProfile, ips: IpPool) -> None:
        self.profile = profile
        self.ips = ips
        self.ids: list[str] = []
        #: the JSON of each visitor's ``context`` object, and its user agent
        self.contexts: list[bytes] = []
        self.user_agents: list[str] = []
        self.user_ids: list[str | None] = []
        self.dimensions: list[dict[str, str] | None] = []
        self.site_keys: Array = np.zeros(0, np.int8)
        self.loyalty: Array = np.zeros(0, np.float64)
        self.batching: Array = np.zeros(0, np.bool_)
        #: end (ms) of each visitor's latest session, for the gap between sessions
        self.last_end: Array = np.zeros(0, np.int64)
        self._agent_index = [
            np.array([i for i, a in enumerate(BROWSERS) if a.device == d]) for d in DEVICE_CLASSES
        ]
        self._agent_cdf = [_cdf([BROWSERS[i].weight for i in index]) for index in self._agent_index]
        families = list(SCREENS)
        self._agent_screens = np.array([families.index(a.screens) for a in BROWSERS])
        self._screen_cdf = [_cdf([w for *_, w in SCREENS[family]]) for family in families]
        self._language_cdf = {c: _cdf([w for _, w in langs]) for c, langs in LANGUAGES.items()}

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, rng: np.random.Generator, n: int) -> Array:
        """Create ``n`` new visitors; returns their indices."""
        first = len(self.ids)
        kind = self.profile.kind
        device = rng.choice(3, size=n, p=np.array(kind.devices) / sum(kind.devices))
        country_idx = rng.choice(len(self.profile.countries), size=n, p=self.profile.country_p)
        countries = [self.profile.countries[i] for i in country_idx.tolist()]
        addresses = self.ips.for_countries(rng, countries)
        picks = rng.random((n, 3))
        self.ids += uuid4_strings(rng, n)
        agent_of = np.zeros(n, np.int64)
        for d, cdf in enumerate(self._agent_cdf):
            rows = np.flatnonzero(device == d)
            agent_of[rows] = self._agent_index[d][_pick_many(cdf, picks[rows, 0])]
        screen_of = np.zeros(n, np.int64)
        family_of = self._agent_screens[agent_of]
        for family, cdf in enumerate(self._screen_cdf):
            rows = np.flatnonzero(family_of == family)
            screen_of[rows] = _pick_many(cdf, picks[rows, 1])
        language_of = np.zeros(n, np.int64)
        for c, country in enumerate(self.profile.countries):
            rows = np.flatnonzero(country_idx == c)
            language_of[rows] = _pick_many(self._language_cdf[country], picks[rows, 2])
        for i, (a, sc, lang) in enumerate(
            zip(agent_of.tolist(), screen_of.tolist(), language_of.tolist(), strict=True)
        ):
            agent = BROWSERS[a]
            width, height, _ = SCREENS[agent.screens][sc]
            context = {
                "user_agent": agent.user_agent,
                "ip": addresses[i],
                "screen": {"width": width, "height": height},
                "language": LANGUAGES[countries[i]][lang][0],
            }
            self.contexts.append(orjson.dumps(context))
            self.user_agents.append(agent.user_agent)
        logged_in = rng.random(n) < LOGGED_IN_SHARE
        in_experiment = rng.random(n) < EXPERIMENT_SHARE
        variants = rng.integers(0, 2, size=n)
        plans = rng.integers(0, len(_PLANS), size=n)
        user_numbers = rng.integers(10_000_000, 99_999_999, size=n)
        for i in range(n):
            dims: dict[str, str] = {}
            if in_experiment[i]:
                dims["experiment"] = "home_hero_2026"
                dims["variant"] = "AB"[int(variants[i])]
            if logged_in[i]:
                dims["plan"] = _PLANS[int(plans[i])]
                self.user_ids.append(f"u{int(user_numbers[i])}")
            else:
                self.user_ids.append(None)
            self.dimensions.append(dims or None)
        self.site_keys = np.concatenate(
            [self.site_keys, rng.choice(3, size=n, p=SITE_KEY_SHARES).astype(np.int8)]
        )
        self.loyalty = np.concatenate([self.loyalty, rng.lognormal(0.0, 1.0, size=n)])
        self.batching = np.concatenate([self.batching, rng.random(n) < BATCHING_SHARE])
        self.last_end = np.concatenate([self.last_end, np.full(n, _NEVER, np.int64)])
        return np.arange(first, first + n)

    def returning(self, rng: np.random.Generator, n: int) -> Array:
        """``n`` distinct earlier visitors, loyal ones more likely (Gumbel top-k)."""
        n = min(n, len(self.ids))
        if n == 0:
            return np.zeros(0, np.int64)
        keys = np.log(self.loyalty) + rng.gumbel(size=len(self.loyalty))
        return np.sort(np.argpartition(-keys, n - 1)[:n])


class DaySimulator:
    """Simulates one site, day after day, keeping its visitors between days."""

    def __init__(
        self, profile: SiteProfile, *, visitors: int, bot_share: float, seed: int, ips: IpPool
    ) -> None:
        self.profile = profile
        self.daily_visitors = visitors
        self.bot_share = bot_share
        self.seed = seed
        self.pool = VisitorPool(profile, ips)
        self.ips = ips
        self.sources = SourceSampler(
            country=profile.country, kind=profile.kind.name, mix=profile.kind.channels
        )
        self._orders = 0
        self._bot_p = np.array([b.weight for b in BOTS]) / sum(b.weight for b in BOTS)

    def day(self, day: dt.date, until_ms: int) -> SimDay:
        """The events of local ``day``; events at or after ``until_ms`` are dropped."""
        profile, kind = self.profile, self.profile.kind
        rng = np.random.default_rng([self.seed, profile.website_id, day.toordinal(), 0x5E55])
        hours = np.array(local_hours_utc_ms(day, profile.site.timezone), dtype=np.int64)

        # 1. visitors
        expected = self.daily_visitors * kind.weekdays[day.weekday()] * rng.lognormal(0.0, 0.05)
        n_visitors = int(rng.poisson(expected))
        n_returning = int(rng.binomial(n_visitors, kind.returning_share)) if len(self.pool) else 0
        returning = self.pool.returning(rng, n_returning)
        new = self.pool.add(rng, n_visitors - len(returning))
        visitors = np.concatenate([returning, new]).astype(np.int64)
        is_returning = np.arange(len(visitors)) < len(returning)

        # 2. sessions
        per_visitor = 1 + rng.poisson(np.where(is_returning, 0.45, 0.2))
        s_visitor = np.repeat(visitors, per_visitor)
        n_sessions = len(s_visitor)
        diurnal = np.array(kind.diurnal) / sum(kind.diurnal)
        start_hour = rng.choice(24, size=n_sessions, p=diurnal)
        start = hours[start_hour] + (rng.random(n_sessions) * HOUR_MS).astype(np.int64)
        bounce = rng.random(n_sessions) < kind.bounce_rate
        n_pv = np.where(bounce, 1, 1 + rng.geometric(1.0 / max(kind.pages_mean - 1.0, 1.01), size=n_sessions))
        n_pv = np.minimum(n_pv, 40)
        converted = ~bounce & (rng.random(n_sessions) < kind.conversion_rate / (1.0 - kind.bounce_rate))
        n_pv = np.where(converted, np.maximum(n_pv, 3), n_pv)
        reentry = ~converted & (n_pv >= 3) & (rng.random(n_sessions) < REENTRY_SHARE)
        reentry_pos = np.where(
            reentry, 1 + (rng.random(n_sessions) * np.maximum(n_pv - 2, 1)).astype(np.int64), -1
        )
        channels = self.sources.channels(rng, n_sessions)
        landings = self.sources.landings(rng, channels, day)
        reentry_sessions = np.flatnonzero(reentry)
        landings += self.sources.landings(
            rng, self.sources.channels(rng, len(reentry_sessions), allow_direct=False), day
        )
        reentry_landing = np.full(n_sessions, -1, np.int64)
        reentry_landing[reentry_sessions] = n_sessions + np.arange(len(reentry_sessions))

        # 3. pageviews, as offsets from their session's start
        n_pageviews = int(n_pv.sum())
        pv_session = np.repeat(np.arange(n_sessions), n_pv)
        first_pv = np.cumsum(n_pv) - n_pv
        pos = np.arange(n_pageviews) - first_pv[pv_session]
        gap = np.clip(rng.lognormal(np.log(40_000), 1.0, size=n_pageviews), MIN_PAGE_GAP_MS, MAX_PAGE_GAP_MS)
        is_reentry = pos == reentry_pos[pv_session]
        gap = np.where(is_reentry, rng.uniform(2 * MINUTE_MS, MAX_PAGE_GAP_MS, size=n_pageviews), gap)
        gap = gap.astype(np.int64)
        gap[pos == 0] = 0
        cum = np.cumsum(gap)
        pv_offset = cum - cum[first_pv][pv_session]
        page = profile.catalogue.sample(rng, n_pageviews)
        last_pv = first_pv + n_pv - 1
        conv_sessions = np.flatnonzero(converted)
        page[last_pv[conv_sessions] - 1] = profile.catalogue.checkout
        page[last_pv[conv_sessions]] = profile.catalogue.confirmation
        pv_landing = np.where(pos == 0, pv_session, np.where(is_reentry, reentry_landing[pv_session], -1))
        prev_page = np.where(pos > 0, np.roll(page, 1), -1)
        prev_page = np.where(pv_landing >= 0, -1, prev_page)
        load_ms = np.where(
            rng.random(n_pageviews) < 0.3, rng.lognormal(np.log(900), 0.6, size=n_pageviews), np.nan
        )

        # 4. custom events after pageviews, transactions after the confirmation page
        has_next = pos < n_pv[pv_session] - 1
        next_gap = np.where(has_next, np.roll(gap, -1), rng.lognormal(np.log(30_000), 0.8, size=n_pageviews))
        next_gap = np.minimum(next_gap, MAX_PAGE_GAP_MS)
        ev_rows = np.flatnonzero(rng.random(n_pageviews) < kind.event_rate)
        ev_offset = pv_offset[ev_rows] + (
            next_gap[ev_rows] * rng.uniform(0.15, 0.85, size=len(ev_rows))
        ).astype(np.int64)
        weights = np.array([a.weight for a in kind.actions])
        ev_action = rng.choice(len(kind.actions), size=len(ev_rows), p=weights / weights.sum())
        label_u = rng.random(len(ev_rows))
        value_u = rng.random(len(ev_rows))
        ev_label = np.zeros(len(ev_rows), np.int64)
        ev_value = np.full(len(ev_rows), np.nan)
        for j, a in enumerate(ev_action.tolist()):
            action = kind.actions[a]
            ev_label[j] = int(label_u[j] * len(action.labels))
            if action.value is not None:
                low, high = action.value
                ev_value[j] = round(low + value_u[j] * (high - low), 2)
        tx_rows = last_pv[conv_sessions]
        tx_offset = pv_offset[tx_rows] + rng.integers(400, 3_000, size=len(tx_rows))
        orders = [self._order(rng, day) for _ in range(len(tx_rows))]

        # 5. place sessions: at least MIN_SESSION_GAP_MS after the visitor's previous one
        duration = np.zeros(n_sessions, np.int64)
        np.maximum.at(duration, pv_session, pv_offset)
        np.maximum.at(duration, pv_session[ev_rows], ev_offset)
        np.maximum.at(duration, pv_session[tx_rows], tx_offset)
        start = self._space_sessions(s_visitor, start, duration)

        # 6. bots
        human_events = n_pageviews + len(ev_rows) + len(tx_rows)
        bot = self._bots(rng, hours, human_events, n_sessions)

        n_ev, n_tx, n_bot = len(ev_rows), len(tx_rows), len(bot["ts"])
        minus = np.full(n_ev + n_tx, -1, np.int64)
        ts = np.concatenate(
            [
                start[pv_session] + pv_offset,
                start[pv_session[ev_rows]] + ev_offset,
                start[pv_session[tx_rows]] + tx_offset,
                bot["ts"],
            ]
        )
        day_events = SimDay(
            ts=ts,
            kind=np.concatenate(
                [
                    np.zeros(n_pageviews, np.int8),
                    np.ones(n_ev, np.int8),
                    np.full(n_tx, 2, np.int8),
                    np.zeros(n_bot, np.int8),
                ]
            ),
            session=np.concatenate([pv_session, pv_session[ev_rows], pv_session[tx_rows], bot["session"]]),
            page=np.concatenate([page, page[ev_rows], page[tx_rows], bot["page"]]),
            landing=np.concatenate([pv_landing, minus, np.full(n_bot, -1, np.int64)]),
            prev_page=np.concatenate([prev_page, minus, np.full(n_bot, -1, np.int64)]),
            action=np.concatenate(
                [np.full(n_pageviews, -1, np.int64), ev_action, np.full(n_tx + n_bot, -1, np.int64)]
            ),
            label=np.concatenate(
                [np.full(n_pageviews, -1, np.int64), ev_label, np.full(n_tx + n_bot, -1, np.int64)]
            ),
            value=np.concatenate([np.full(n_pageviews, np.nan), ev_value, np.full(n_tx + n_bot, np.nan)]),
            order=np.concatenate(
                [np.full(n_pageviews + n_ev, -1, np.int64), np.arange(n_tx), np.full(n_bot, -1, np.int64)]
            ),
            load_ms=np.concatenate([load_ms, np.full(n_ev + n_tx, np.nan), bot["load_ms"]]),
            landings=landings,
            orders=orders,
            session_ids=hex_ids(rng, n_sessions) + bot["session_ids"],
            visitor_ids=[self.pool.ids[v] for v in s_visitor.tolist()] + bot["visitor_ids"],
            contexts=[self.pool.contexts[v] for v in s_visitor.tolist()] + bot["contexts"],
            user_agents=[self.pool.user_agents[v] for v in s_visitor.tolist()] + bot["user_agents"],
            site_keys=np.concatenate(
                [self.pool.site_keys[s_visitor], np.zeros(len(bot["session_ids"]), np.int8)]
            ),
            user_ids=[self.pool.user_ids[v] for v in s_visitor.tolist()] + [None] * len(bot["session_ids"]),
            dimensions=[self.pool.dimensions[v] for v in s_visitor.tolist()]
            + [None] * len(bot["session_ids"]),
            is_bot=np.concatenate(
                [np.zeros(n_sessions, np.bool_), np.ones(len(bot["session_ids"]), np.bool_)]
            ),
            batching=np.concatenate(
                [self.pool.batching[s_visitor], np.zeros(len(bot["session_ids"]), np.bool_)]
            ),
        )
        return _select(day_events, day_events.ts < until_ms)

    def _space_sessions(self, visitor: Array, start: Array, duration: Array) -> Array:
        """Push session starts so each begins >= MIN_SESSION_GAP_MS after the previous one ended.

        ``start'[i] = max(start[i], start'[i-1] + duration[i-1] + gap)`` per visitor, as a
        running maximum: with ``C`` the exclusive cumulative sum of ``duration + gap``,
        ``start' = C + running_max(start - C)`` within each visitor's sessions.
        """
        if len(start) == 0:
            return start
        order = np.lexsort((start, visitor))
        v, s, d = visitor[order], start[order].copy(), duration[order]
        first = np.ones(len(v), np.bool_)
        first[1:] = v[1:] != v[:-1]
        carry_in = self.pool.last_end[v] + MIN_SESSION_GAP_MS
        s = np.where(first, np.maximum(s, carry_in), s)
        step = d + MIN_SESSION_GAP_MS
        c = np.cumsum(step) - step
        x = s - c
        group = np.cumsum(first) - 1
        base = x.min()
        span = int(x.max() - base) + 1
        y = (x - base) + group * span
        placed = np.maximum.accumulate(y) - group * span + base + c
        last = np.ones(len(v), np.bool_)
        last[:-1] = v[1:] != v[:-1]
        self.pool.last_end[v[last]] = placed[last] + d[last]
        out = np.empty_like(start)
        out[order] = placed
        return out

    def _bots(
        self, rng: np.random.Generator, hours: Array, human_events: int, first_session: int
    ) -> dict[str, Any]:
        target = human_events * self.bot_share / (1.0 - self.bot_share) if self.bot_share < 1 else 0.0
        mean_pages = float(sum(b.pages_mean * w for b, w in zip(BOTS, self._bot_p, strict=True)))
        draw = int(target / mean_pages * 2) + 8
        agent = rng.choice(len(BOTS), size=draw, p=self._bot_p)
        pages = rng.geometric(1.0 / np.array([BOTS[a].pages_mean for a in agent.tolist()]))
        keep = int(np.searchsorted(np.cumsum(pages), target, side="right"))
        agent, pages = agent[:keep], pages[:keep]
        n_sessions = keep
        day_start, day_end = int(hours[0]), int(hours[-1])
        start = rng.integers(day_start, day_end, size=n_sessions)
        total = int(pages.sum())
        session = np.repeat(np.arange(n_sessions), pages)
        first = np.cumsum(pages) - pages
        gap = np.clip(rng.lognormal(np.log(3_000), 1.0, size=total), 200, 60_000).astype(np.int64)
        gap[first] = 0
        cum = np.cumsum(gap)
        ts = start[session] + cum - cum[first][session]
        addresses = [""] * n_sessions
        agents = agent.tolist()
        for network in sorted({BOTS[a].network for a in agents}):
            rows = [i for i, a in enumerate(agents) if BOTS[a].network == network]
            for i, address in zip(rows, self.ips.for_network(rng, network, len(rows)), strict=True):
                addresses[i] = address
        contexts = [
            orjson.dumps({"user_agent": BOTS[a].user_agent, "ip": address})
            for a, address in zip(agents, addresses, strict=True)
        ]
        return {
            "ts": ts,
            "session": first_session + session,
            "page": self.profile.catalogue.sample(rng, total, crawl=True),
            "load_ms": np.full(total, np.nan),
            "session_ids": hex_ids(rng, n_sessions),
            "visitor_ids": uuid4_strings(rng, n_sessions),
            "contexts": contexts,
            "user_agents": [BOTS[a].user_agent for a in agents],
        }

    def _order(self, rng: np.random.Generator, day: dt.date) -> Order:
        """The ``ecommerce`` object of one transaction."""
        profile = self.profile
        products = profile.catalogue.products
        decimals, fx = profile.decimals, profile.fx
        kind = profile.kind.name
        if kind == "shop":
            count = 1 + min(int(rng.geometric(0.55)) - 1, 3)
            chosen = rng.choice(len(products), size=count, replace=False)
            lines = [(products[i], 2 if rng.random() < 0.15 else 1) for i in chosen.tolist()]
        elif kind == "travel":
            lines = [(products[int(rng.integers(len(products)))], int(rng.integers(1, 7)))]
        elif kind in ("docs", "saas"):
            plan = products[int(rng.choice(len(products), p=[0.5, 0.4, 0.1]))]
            seats = 1 if plan.sku == "PLAN-STARTER" else int(rng.integers(2, 11))
            lines = [(plan, seats)]
        else:
            lines = [(products[int(rng.choice(len(products), p=[0.7, 0.3]))], 1)]
        subtotal = round(sum(p.price * q for p, q in lines), decimals)
        shipping = None
        if kind == "shop":
            shipping = 0.0 if subtotal >= 50.0 * fx else round(4.95 * fx, decimals)
        revenue = round(subtotal + (shipping or 0.0), decimals)
        self._orders += 1
        order: dict[str, Any] = {
            "transaction_id": f"T{profile.website_id}-{day:%Y%m%d}-{self._orders:06d}",
            "revenue": revenue,
            "currency": profile.currency,
        }
        if profile.vat is not None:
            order["tax"] = round(subtotal * profile.vat / (1.0 + profile.vat), decimals)
        if shipping is not None:
            order["shipping"] = shipping
        order["items"] = [
            {"sku": p.sku, "name": p.name, "category": p.category, "price": p.price, "quantity": q}
            for p, q in lines
        ]
        properties = None
        if rng.random() < 0.5:
            properties = {"payment_method": _PAYMENT[int(rng.integers(len(_PAYMENT)))]}
        return Order(order, properties)


def _cdf(weights: list[float]) -> Array:
    array = np.cumsum(np.array(weights, dtype=np.float64))
    cdf: Array = array / array[-1]
    return cdf


def _pick_many(cdf: Array, u: Array) -> Array:
    return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)


def _select(day: SimDay, keep: Array) -> SimDay:
    """Only the events where ``keep``, sorted by client time (session tables stay whole)."""
    index = np.flatnonzero(keep)
    index = index[np.argsort(day.ts[index], kind="stable")]
    return SimDay(
        ts=day.ts[index],
        kind=day.kind[index],
        session=day.session[index],
        page=day.page[index],
        landing=day.landing[index],
        prev_page=day.prev_page[index],
        action=day.action[index],
        label=day.label[index],
        value=day.value[index],
        order=day.order[index],
        load_ms=day.load_ms[index],
        landings=day.landings,
        orders=day.orders,
        session_ids=day.session_ids,
        visitor_ids=day.visitor_ids,
        contexts=day.contexts,
        user_agents=day.user_agents,
        site_keys=day.site_keys,
        user_ids=day.user_ids,
        dimensions=day.dimensions,
        is_bot=day.is_bot,
        batching=day.batching,
    )
