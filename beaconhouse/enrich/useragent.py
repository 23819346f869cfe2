"""User agent → device type, browser and OS, with ua-parser (uap-core's rules).

ua-parser answers "which browser, which OS, which device model"; it has no notion of
device *type*, so :func:`device_type` derives one from its answer plus the tokens
browsers use to say "phone" or "tablet". iPadOS 13+ Safari sends a Mac user agent by
default, so those iPads count as desktops: no user-agent parser can tell them apart.
"""

from __future__ import annotations

import re

import pyarrow as pa
import ua_parser

from beaconhouse.enrich.distinct import ArrayLike, LruCache, map_distinct

DEVICE_TYPES = ("desktop", "mobile", "tablet", "bot", "other")
#: output columns, named as in raw.events, all strings
COLUMNS = ("device_type", "browser_name", "browser_version", "os_name", "os_version")

UserAgentFields = tuple[str, str, str, str, str]
_EMPTY: UserAgentFields = ("other", "", "", "", "")

# Phones say "Mobile"/"Mobi" (Android Chrome omits it on tablets, which is the rule
# Google documents for telling them apart); the rest are platforms with no tablets.
_MOBILE = re.compile(r"Mobi|iPhone|iPod|Windows Phone|IEMobile|Opera Mini|BlackBerry|BB10|Symbian|KaiOS")
_TABLET = re.compile(r"iPad|Tablet|Kindle|Silk/|PlayBook|\bTab\b", re.IGNORECASE)
_DESKTOP_OS = frozenset(
    {
        "Windows",
        "Mac OS X",
        "Linux",
        "Ubuntu",
        "Kubuntu",
        "Debian",
        "Fedora",
        "Red Hat",
        "SUSE",
        "Gentoo",
        "Mint",
        "Linux Mint",
        "Arch Linux",
        "Chrome OS",
        "ChromeOS",
        "FreeBSD",
        "OpenBSD",
        "NetBSD",
        "Solaris",
    }
)


def _version(major: str | None, minor: str | None) -> str:
    if not major:
        return ""
    return f"{major}.{minor}" if minor else major


def device_type(user_agent: str, result: ua_parser.Result) -> str:
    """'desktop', 'mobile', 'tablet', 'bot' or 'other' for a parsed user agent."""
    device = result.device.family if result.device else ""
    if device == "Spider":
        return "bot"
    os_name = result.os.family if result.os else ""
    if device == "iPad" or (os_name in {"Android", "iOS"} and _TABLET.search(user_agent)):
        return "tablet"
    if os_name == "Android":
        return "mobile" if "Mobi" in user_agent else "tablet"
    if _MOBILE.search(user_agent) or device in {"iPhone", "iPod"}:
        return "mobile"
    if os_name in _DESKTOP_OS:
        # "Tablet PC" in old Windows IE user agents is a pen laptop, not a tablet.
        return "desktop"
    if _TABLET.search(user_agent):
        return "tablet"
    return "other"


class UserAgentParser:
    """Parses user agents, remembering the last ``cache_size`` distinct ones."""

    def __init__(self, cache_size: int = 100_000) -> None:
        # The fastest resolver installed (ua-parser-rs, a Rust regex set, is a dependency;
        # ua-parser falls back to pure-Python regexes without it). Its rules load lazily
        # when a native resolver compiles them anyway, as ua-parser itself does.
        native = ua_parser.BestAvailableResolver is not ua_parser.BasicResolver
        matchers = ua_parser.load_lazy_builtins() if native else ua_parser.load_builtins()
        # No ua-parser cache of its own: ours sits in front and is shared by batches.
        resolver = ua_parser.BestAvailableResolver(matchers)
        self._parser = ua_parser.Parser(resolver)
        self.cache: LruCache[str, tuple[str, str, str, str, str]] = LruCache(cache_size)

    def parse(self, user_agent: str | None) -> UserAgentFields:
        """(device_type, browser_name, browser_version, os_name, os_version) for one UA.

        Unknown parts are empty strings (ua-parser's "Other" included); an empty user
        agent is device type 'other'.
        """
        if user_agent is None or not user_agent.strip():
            return _EMPTY
        result = self._parser.parse(user_agent)
        browser = result.user_agent
        os = result.os
        browser_name = browser.family if browser and browser.family != "Other" else ""
        os_name = os.family if os and os.family != "Other" else ""
        return (
            device_type(user_agent, result),
            browser_name,
            _version(browser.major, browser.minor) if browser_name and browser else "",
            os_name,
            _version(os.major, os.minor) if os_name and os else "",
        )

    def parse_array(self, user_agents: ArrayLike) -> dict[str, pa.Array]:
        """The :data:`COLUMNS` for a string array, parsing each distinct UA once."""
        arrays = map_distinct(
            user_agents,
            self.parse,
            [pa.string()] * len(COLUMNS),
            cache=self.cache,
        )
        return dict(zip(COLUMNS, arrays, strict=True))
