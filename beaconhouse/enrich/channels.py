"""GA4's default channel group, from a session's source, medium and campaign.

The rules and their order are those of Google Analytics 4's "Default channel group"
(GA4 help, "[GA4] Default channel group"). The first rule that matches wins. Matching
is case-insensitive. We add one channel GA4 does not have, ``Internal``, for visits
referred by the site itself (see referrer.py and docs/enrichment.md).
"""

from __future__ import annotations

import re

from beaconhouse.enrich.source_categories import category_of

INTERNAL_SOURCE = "(internal)"

CHANNELS = (
    "Direct",
    "Cross-network",
    "Paid Shopping",
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Display",
    "Paid Other",
    "Organic Shopping",
    "Organic Social",
    "Organic Video",
    "Organic Search",
    "Referral",
    "Email",
    "Affiliates",
    "Audio",
    "SMS",
    "Mobile Push Notifications",
    "Unassigned",
    "Internal",
)

_PAID_MEDIUM = re.compile(r".*cp.*|ppc|retargeting|paid.*")
_SHOPPING_CAMPAIGN = re.compile(r".*(?:(?:[^a-df-z]|^)shop|shopping).*")
_DISPLAY_MEDIUMS = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
_SOCIAL_MEDIUMS = frozenset(
    {"social", "social-network", "social-media", "sm", "social network", "social media"}
)
_REFERRAL_MEDIUMS = frozenset({"referral", "app", "link"})
_EMAIL = frozenset({"email", "e-mail", "e_mail", "e mail"})


def default_channel_group(source: str, medium: str, campaign: str = "") -> str:
    """The GA4 default channel for a source / medium / campaign (plus ``Internal``)."""
    source = source.strip().lower()
    medium = medium.strip().lower()
    campaign = campaign.strip().lower()
    if source == INTERNAL_SOURCE:
        return "Internal"
    if source == "(direct)" and medium in {"(none)", "(not set)", ""}:
        return "Direct"
    if "cross-network" in campaign:
        return "Cross-network"
    category = category_of(source)
    paid = _PAID_MEDIUM.fullmatch(medium) is not None
    shopping_campaign = _SHOPPING_CAMPAIGN.fullmatch(campaign) is not None
    if paid:
        if category == "shopping" or shopping_campaign:
            return "Paid Shopping"
        if category == "search":
            return "Paid Search"
        if category == "social":
            return "Paid Social"
        if category == "video":
            return "Paid Video"
    if medium in _DISPLAY_MEDIUMS:
        return "Display"
    if paid:
        return "Paid Other"
    if category == "shopping" or shopping_campaign:
        return "Organic Shopping"
    if category == "social" or medium in _SOCIAL_MEDIUMS:
        return "Organic Social"
    if category == "video" or "video" in medium:
        return "Organic Video"
    if category == "search" or medium == "organic":
        return "Organic Search"
    if medium in _REFERRAL_MEDIUMS:
        return "Referral"
    if source in _EMAIL or medium in _EMAIL:
        return "Email"
    if medium == "affiliate":
        return "Affiliates"
    if medium == "audio":
        return "Audio"
    if source == "sms" or medium == "sms":
        return "SMS"
    if medium.endswith("push") or "mobile" in medium or "notification" in medium or source == "firebase":
        return "Mobile Push Notifications"
    return "Unassigned"
