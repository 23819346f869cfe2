"""Curated, real user-agent strings: browsers by device class, and crawlers.

The browser strings are the ones current browsers send (Chrome, Edge and Samsung
Internet with the frozen "reduced" UA: ``Windows NT 10.0``, ``Android 10; K``,
``Chrome/<major>.0.0.0``). The crawler strings are the ones the crawlers document.

The ground truth treats a user agent as a bot exactly when it is one of
:data:`BOT_USER_AGENTS`; every one of them carries a token (``bot``, ``spider``,
``HeadlessChrome``, ``curl``, ``python-requests``, …) that a UA-based bot filter knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DeviceClass = Literal["desktop", "mobile", "tablet"]
DEVICE_CLASSES: tuple[DeviceClass, ...] = ("desktop", "mobile", "tablet")


@dataclass(frozen=True)
class BrowserAgent:
    """A real browser user agent, with what it says about the device."""

    user_agent: str
    browser: str
    os: str
    device: DeviceClass
    #: which screen sizes fit it (a key of :data:`SCREENS`)
    screens: str
    #: relative frequency within its device class
    weight: float


@dataclass(frozen=True)
class BotAgent:
    """A real crawler or script user agent."""

    user_agent: str
    name: str
    #: relative frequency among bot sessions
    weight: float
    #: where it crawls from (a key of :data:`beaconhouse.generate.ips.BOT_NETWORKS`)
    network: str
    #: mean pages fetched per crawl session
    pages_mean: float


_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"
_LINUX = "Mozilla/5.0 (X11; Linux x86_64)"
_BLINK = "AppleWebKit/537.36 (KHTML, like Gecko)"
_WEBKIT = "AppleWebKit/605.1.15 (KHTML, like Gecko)"


def _chrome(platform: str, major: int, tail: str = "") -> str:
    return f"{platform} {_BLINK} Chrome/{major}.0.0.0 Safari/537.36{tail}"


def _firefox(platform: str, major: int) -> str:
    return f"Mozilla/5.0 ({platform}; rv:{major}.0) Gecko/20100101 Firefox/{major}.0"


BROWSERS: tuple[BrowserAgent, ...] = (
    # desktop: Windows
    BrowserAgent(_chrome(_WIN, 141), "Chrome", "Windows", "desktop", "windows", 20),
    BrowserAgent(_chrome(_WIN, 140), "Chrome", "Windows", "desktop", "windows", 9),
    BrowserAgent(_chrome(_WIN, 139), "Chrome", "Windows", "desktop", "windows", 3),
    BrowserAgent(_chrome(_WIN, 141, " Edg/141.0.0.0"), "Edge", "Windows", "desktop", "windows", 8),
    BrowserAgent(_chrome(_WIN, 140, " Edg/140.0.0.0"), "Edge", "Windows", "desktop", "windows", 3),
    BrowserAgent(_firefox("Windows NT 10.0; Win64; x64", 144), "Firefox", "Windows", "desktop", "windows", 4),
    BrowserAgent(_firefox("Windows NT 10.0; Win64; x64", 143), "Firefox", "Windows", "desktop", "windows", 2),
    BrowserAgent(_chrome(_WIN, 141, " OPR/123.0.0.0"), "Opera", "Windows", "desktop", "windows", 1),
    # desktop: macOS (every macOS browser reports 10_15_7 / 10.15, by design)
    BrowserAgent(_chrome(_MAC, 141), "Chrome", "Mac OS X", "desktop", "mac", 9),
    BrowserAgent(_chrome(_MAC, 140), "Chrome", "Mac OS X", "desktop", "mac", 3),
    BrowserAgent(f"{_MAC} {_WEBKIT} Version/26.0 Safari/605.1.15", "Safari", "Mac OS X", "desktop", "mac", 5),
    BrowserAgent(f"{_MAC} {_WEBKIT} Version/18.6 Safari/605.1.15", "Safari", "Mac OS X", "desktop", "mac", 4),
    BrowserAgent(
        _firefox("Macintosh; Intel Mac OS X 10.15", 144), "Firefox", "Mac OS X", "desktop", "mac", 1.5
    ),
    BrowserAgent(_chrome(_MAC, 141, " Edg/141.0.0.0"), "Edge", "Mac OS X", "desktop", "mac", 1),
    # desktop: Linux
    BrowserAgent(_chrome(_LINUX, 141), "Chrome", "Linux", "desktop", "linux", 2),
    BrowserAgent(_firefox("X11; Ubuntu; Linux x86_64", 144), "Firefox", "Ubuntu", "desktop", "linux", 1),
    BrowserAgent(_firefox("X11; Linux x86_64", 143), "Firefox", "Linux", "desktop", "linux", 0.7),
    # mobile: iPhone
    BrowserAgent(
        f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) {_WEBKIT} "
        "Version/26.0 Mobile/15E148 Safari/604.1",
        "Mobile Safari",
        "iOS",
        "mobile",
        "iphone",
        20,
    ),
    BrowserAgent(
        f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_6_2 like Mac OS X) {_WEBKIT} "
        "Version/18.6 Mobile/15E148 Safari/604.1",
        "Mobile Safari",
        "iOS",
        "mobile",
        "iphone",
        8,
    ),
    BrowserAgent(
        f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) {_WEBKIT} "
        "Version/17.7 Mobile/15E148 Safari/604.1",
        "Mobile Safari",
        "iOS",
        "mobile",
        "iphone",
        3,
    ),
    BrowserAgent(
        f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) {_WEBKIT} "
        "CriOS/141.0.7390.96 Mobile/15E148 Safari/604.1",
        "Chrome Mobile iOS",
        "iOS",
        "mobile",
        "iphone",
        4,
    ),
    BrowserAgent(
        f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) {_WEBKIT} "
        "Mobile/22G86 [FBAN/FBIOS;FBAV/530.0.0.41.108;FBBV/812345678;FBDV/iPhone16,2;FBMD/iPhone;"
        "FBSN/iOS;FBSV/18.6;FBSS/3;FBCR/;FBID/phone;FBLC/en_US;FBOP/5;FBRV/0]",
        "Facebook",
        "iOS",
        "mobile",
        "iphone",
        1,
    ),
    # mobile: Android
    BrowserAgent(
        f"Mozilla/5.0 (Linux; Android 10; K) {_BLINK} Chrome/141.0.0.0 Mobile Safari/537.36",
        "Chrome Mobile",
        "Android",
        "mobile",
        "android_phone",
        22,
    ),
    BrowserAgent(
        f"Mozilla/5.0 (Linux; Android 10; K) {_BLINK} Chrome/140.0.0.0 Mobile Safari/537.36",
        "Chrome Mobile",
        "Android",
        "mobile",
        "android_phone",
        6,
    ),
    BrowserAgent(
        f"Mozilla/5.0 (Linux; Android 10; K) {_BLINK} SamsungBrowser/28.0 Chrome/130.0.0.0 "
        "Mobile Safari/537.36",
        "Samsung Internet",
        "Android",
        "mobile",
        "android_phone",
        5,
    ),
    BrowserAgent(
        "Mozilla/5.0 (Android 15; Mobile; rv:144.0) Gecko/144.0 Firefox/144.0",
        "Firefox Mobile",
        "Android",
        "mobile",
        "android_phone",
        1,
    ),
    BrowserAgent(
        f"Mozilla/5.0 (Linux; Android 10; K) {_BLINK} Chrome/141.0.0.0 Mobile Safari/537.36 EdgA/141.0.0.0",
        "Edge Mobile",
        "Android",
        "mobile",
        "android_phone",
        0.7,
    ),
    # tablet: iPad (Safari on iPadOS asks for desktop sites by default and then sends a
    # Mac UA; these are the ones that still say iPad)
    BrowserAgent(
        f"Mozilla/5.0 (iPad; CPU OS 18_6 like Mac OS X) {_WEBKIT} Version/26.0 Mobile/15E148 Safari/604.1",
        "Mobile Safari",
        "iOS",
        "tablet",
        "ipad",
        5,
    ),
    BrowserAgent(
        f"Mozilla/5.0 (iPad; CPU OS 18_6 like Mac OS X) {_WEBKIT} CriOS/141.0.7390.96 Mobile/15E148 "
        "Safari/604.1",
        "Chrome Mobile iOS",
        "iOS",
        "tablet",
        "ipad",
        1.5,
    ),
    # tablet: Android (no "Mobile" token is what makes it a tablet)
    BrowserAgent(
        f"Mozilla/5.0 (Linux; Android 10; K) {_BLINK} Chrome/141.0.0.0 Safari/537.36",
        "Chrome",
        "Android",
        "tablet",
        "android_tablet",
        2.5,
    ),
    BrowserAgent(
        f"Mozilla/5.0 (Linux; Android 14; SM-X710) {_BLINK} SamsungBrowser/28.0 Chrome/130.0.0.0 "
        "Safari/537.36",
        "Samsung Internet",
        "Android",
        "tablet",
        "android_tablet",
        1,
    ),
)

#: screen sizes (CSS pixels) per device family, with relative frequencies
SCREENS: dict[str, tuple[tuple[int, int, float], ...]] = {
    "windows": (
        (1920, 1080, 40),
        (1536, 864, 14),
        (1366, 768, 12),
        (2560, 1440, 9),
        (1280, 720, 5),
        (1440, 900, 5),
        (1600, 900, 5),
        (1280, 800, 3),
        (3840, 2160, 2),
    ),
    "mac": (
        (1440, 900, 20),
        (1512, 982, 20),
        (1728, 1117, 12),
        (1470, 956, 12),
        (1680, 1050, 8),
        (2560, 1440, 8),
        (1920, 1080, 10),
    ),
    "linux": ((1920, 1080, 50), (2560, 1440, 20), (1366, 768, 15), (3840, 2160, 5)),
    "iphone": (
        (390, 844, 25),
        (393, 852, 25),
        (430, 932, 15),
        (428, 926, 10),
        (375, 812, 8),
        (414, 896, 10),
        (402, 874, 7),
    ),
    "android_phone": (
        (412, 915, 30),
        (360, 800, 20),
        (384, 854, 12),
        (412, 892, 12),
        (393, 873, 10),
        (360, 780, 8),
        (448, 998, 5),
    ),
    "ipad": ((810, 1080, 30), (820, 1180, 30), (834, 1194, 20), (1024, 1366, 15), (744, 1133, 5)),
    "android_tablet": ((800, 1280, 40), (1280, 800, 20), (962, 601, 15), (1138, 712, 15), (753, 1205, 10)),
}

BOTS: tuple[BotAgent, ...] = (
    BotAgent(
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Googlebot",
        10,
        "google",
        10,
    ),
    BotAgent(
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/141.0.7390.122 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Googlebot",
        14,
        "google",
        10,
    ),
    BotAgent(
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
        "+http://www.bing.com/bingbot.htm) Chrome/141.0.0.0 Safari/537.36",
        "bingbot",
        10,
        "bing",
        8,
    ),
    BotAgent(
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "AhrefsBot", 9, "ahrefs", 12
    ),
    BotAgent(
        "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
        "SemrushBot",
        7,
        "semrush",
        12,
    ),
    BotAgent(
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
        "GPTBot",
        8,
        "openai",
        8,
    ),
    BotAgent(
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
        "+claudebot@anthropic.com)",
        "ClaudeBot",
        4,
        "aws",
        8,
    ),
    BotAgent("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "YandexBot", 3, "yandex", 6),
    BotAgent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
        "Applebot",
        4,
        "apple",
        5,
    ),
    BotAgent("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "DuckDuckBot", 2, "azure", 4),
    BotAgent(
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "facebookexternalhit",
        3,
        "meta",
        1.5,
    ),
    BotAgent(
        "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 "
        "(compatible; Bytespider; spider-feedback@bytedance.com)",
        "Bytespider",
        5,
        "bytedance",
        10,
    ),
    BotAgent(f"{_LINUX} {_BLINK} HeadlessChrome/141.0.0.0 Safari/537.36", "HeadlessChrome", 6, "gcp", 4),
    BotAgent("curl/8.14.1", "curl", 3, "digitalocean", 1.5),
    BotAgent("python-requests/2.32.5", "python-requests", 3, "aws", 3),
    BotAgent("Go-http-client/1.1", "Go-http-client", 2, "digitalocean", 2),
    BotAgent("Wget/1.25.0", "Wget", 1, "gcp", 2),
)

BOT_USER_AGENTS: frozenset[str] = frozenset(bot.user_agent for bot in BOTS)


def is_bot(user_agent: str) -> bool:
    """True for the user agents the generator sends as bots (the truth's definition)."""
    return user_agent in BOT_USER_AGENTS


def browsers_of(device: DeviceClass) -> tuple[BrowserAgent, ...]:
    """The browser agents of one device class."""
    return tuple(agent for agent in BROWSERS if agent.device == device)
