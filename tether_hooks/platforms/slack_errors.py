"""Slack's failures mapped to BridgeErrors a user can act on.

Slack answers most failures with HTTP 200 ``{"ok": false, "error": "<code>"}`` (slack_sdk
raises ``SlackApiError``); a 429 carries ``Retry-After``. Network failures come from aiohttp
(or a bare ``TimeoutError``). Every message is one line, with the tokens masked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import InvalidURL
from slack_sdk.errors import SlackApiError

from tether_hooks.platforms.base import BridgeAuthError, BridgeError, RateLimited, redact
from tether_hooks.platforms.slack_secrets import SECRET_PATTERNS

__all__ = ["AUTH_ERRORS", "NOT_SLACK", "Where", "map_error", "masked", "not_slack",
           "retry_after", "short_reason"]

# The token itself was refused: nothing works until it is replaced.
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked",
                         "token_expired", "no_permission", "org_login_required",
                         "ekm_access_denied", "team_access_not_granted",
                         "two_factor_setup_required"})
_SETUP = "`tether-hooks setup slack --bot-token xoxb-... --app-token xapp-...`"
NOT_SLACK = ("check api_base (Slack's Web API, ending in /api/: https://slack.com/api/) and "
             "the proxy")


@dataclass(frozen=True)
class Where:
    """What the messages can name: the channel, the bot and the secrets to mask."""

    channel: str = ""  # C0123ABCD
    channel_name: str | None = None  # "approvals", once conversations.info told it
    bot_name: str | None = None  # "tether", once auth.test told it
    secrets: tuple[str, ...] = ()

    @property
    def channel_label(self) -> str:
        return f"#{self.channel_name}" if self.channel_name else (self.channel or "the channel")

    def mask(self, text: str) -> str:
        return redact(text, self.secrets, SECRET_PATTERNS)


def retry_after(exc: SlackApiError) -> float:
    """The ``Retry-After`` seconds of a 429 (1 when Slack gave none)."""
    headers = getattr(exc.response, "headers", None) or {}
    for name, value in dict(headers).items():
        if str(name).lower() == "retry-after":
            value = value[0] if isinstance(value, list) and value else value
            try:
                return max(0.0, float(str(value)))
            except ValueError:
                break
    return 1.0


def not_slack(what: str, detail: str) -> str:
    """The message for an answer that is not one of Slack's Web API (an HTML page...)."""
    return f"the answer to {what} is not a Slack Web API answer ({detail}): {NOT_SLACK}"


def short_reason(exc: BaseException) -> str:
    """``connection refused`` rather than a chain of wrapped exception reprs."""
    if isinstance(exc, InvalidURL):  # its text is the URL (a proxy's may hold a password)
        return "an invalid URL: check api_base and the proxy"
    text = str(exc) or type(exc).__name__
    low = f"{type(exc).__name__} {text}".lower()
    if "refused" in low or "cannot connect" in low or "connectorerror" in low:
        return "connection refused"
    if isinstance(exc, TimeoutError) or "timeout" in low:
        return "timed out"
    if "disconnected" in low or "reset" in low or "broken pipe" in low:
        return "connection dropped"
    return text[:160]


def _api_error(exc: SlackApiError, what: str, where: Where, app: bool) -> BridgeError:
    response = exc.response
    status = getattr(response, "status_code", 200)
    data = response.data if isinstance(getattr(response, "data", None), dict) else {}
    error = str(data.get("error") or "")
    if status == 429 or error == "ratelimited":
        wait = retry_after(exc)
        return RateLimited(f"Slack rate limit: wait {wait:g} s, then {what}", wait)
    if error in AUTH_ERRORS:
        if app:
            return BridgeAuthError(
                f"Slack rejected the app-level token ({error}): app_token must be an xapp- "
                f"token with the connections:write scope (Basic Information > App-Level "
                f"Tokens); run {_SETUP}")
        return BridgeAuthError(
            f"Slack rejected the bot token ({error}): the bot token was revoked or is wrong; "
            f"copy the Bot User OAuth Token (OAuth & Permissions) and run {_SETUP}")
    if error == "not_allowed_token_type":
        return BridgeAuthError(
            "Slack refused the kind of token (not_allowed_token_type): bot_token must be the "
            "xoxb- bot token and app_token the xapp- app-level token")
    if error == "missing_scope":
        needed = str(data.get("needed") or "a scope")
        return BridgeAuthError(
            f"the Slack app lacks the {needed} scope to {what} (missing_scope): add it under "
            "OAuth & Permissions (or in the app manifest), reinstall the app to the workspace, "
            "and use its new bot token")
    if error == "not_in_channel":
        bot = f"@{where.bot_name}" if where.bot_name else "@your-bot"
        return BridgeAuthError(
            f"the bot is not in {where.channel_label} (not_in_channel): invite the bot to "
            f"{where.channel_label}: /invite {bot}")
    if error == "channel_not_found":
        return BridgeAuthError(
            f"Slack cannot {what}: channel {where.channel or '?'} not found "
            "(channel_not_found): check channel_id (the C... id from the channel's About tab); "
            "for a private channel, invite the bot first")
    if error == "is_archived":
        return BridgeAuthError(
            f"{where.channel_label} is archived (is_archived): unarchive it or set another "
            "channel_id")
    if error == "team_not_found" or error == "unknown_method" or status == 404:
        return BridgeError(f"Slack has no such method to {what} ({error or status}): check "
                           "api_base (it must end in /api/)")
    if status >= 500:
        return BridgeError(f"Slack answered HTTP {status} to {what} ({error or 'server error'})")
    if "ok" not in data:  # not JSON (a proxy's or a web server's page), or not Slack's JSON
        headers = getattr(response, "headers", None) or {}
        kind = next((str(v).split(";")[0] for k, v in dict(headers).items()
                     if str(k).lower() == "content-type"), "")
        return BridgeError(not_slack(what, f"HTTP {status}{', ' + kind if kind else ''}"))
    detail = error or f"HTTP {status}"
    messages = (data.get("response_metadata") or {}).get("messages") if isinstance(
        data.get("response_metadata"), dict) else None
    if isinstance(messages, list) and messages:
        detail += ": " + "; ".join(str(m) for m in messages[:3])[:300]
    return BridgeError(f"Slack refused to {what} ({detail})")


def map_error(exc: BaseException, what: str, where: Where | None = None, *,
              app: bool = False) -> BridgeError:
    """The BridgeError for a failure met while trying to ``what`` ("post a message");
    ``app``: the call used the app-level token (apps.connections.open)."""
    where = where or Where()
    if isinstance(exc, SlackApiError):
        mapped = _api_error(exc, what, where, app)
    elif isinstance(exc, TimeoutError):
        mapped = BridgeError(f"Slack did not answer in time to {what}")
    else:
        mapped = BridgeError(f"cannot reach the Slack API to {what} ({short_reason(exc)}); "
                             "check the network, api_base and proxy")
    text = where.mask(str(mapped))
    if isinstance(mapped, RateLimited):
        return RateLimited(text, mapped.retry_after)
    return type(mapped)(text)


def masked(items: Iterable[str]) -> tuple[str, ...]:
    """The secrets worth masking (6+ characters)."""
    return tuple(s for s in items if s and len(s) >= 6)
