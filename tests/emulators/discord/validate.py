"""Discord's checks on a message body (create and edit), and on reaction emoji.

Limits (Discord docs, "Embed Limits" and "Create Message"): content 2000; 10 embeds; title
256, description 4096, 25 fields, field name 256 and value 1024, footer text 2048, author name
256; 6000 characters across all embeds (error ``MAX_EMBED_SIZE_EXCEEDED``); webhook username
1-80. Everything fails as 400 / 50035 "Invalid Form Body" with the path of the bad field.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from .models import DiscordError, form_error

__all__ = ["check_emoji", "check_message", "embed_size", "is_empty"]

_EMBED_LIMITS = {"title": 256, "description": 4096}
_MAX = "BASE_TYPE_MAX_LENGTH"


def _too_long(path: list[str | int], limit: int) -> DiscordError:
    return form_error(path, _MAX, f"Must be {limit} or fewer in length.")


def _string(value: Any, path: list[str | int], limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise form_error(path, "BASE_TYPE_STRING", "Must be a string.")
    if len(value) > limit:
        raise _too_long(path, limit)
    return value


def _dict(value: Any, path: list[str | int]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise form_error(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a "
                         "DictType")
    return value


def _list(value: Any, path: list[str | int]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise form_error(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a "
                         "ListType")
    return value


def embed_size(embed: dict[str, Any]) -> int:
    """The characters Discord counts towards the 6000 limit."""
    size = sum(len(embed.get(k) or "") for k in ("title", "description"))
    for f in embed.get("fields") or []:
        size += len(f.get("name") or "") + len(f.get("value") or "")
    size += len((embed.get("footer") or {}).get("text") or "")
    size += len((embed.get("author") or {}).get("name") or "")
    return size


def _check_embed(embed: Any, i: int) -> None:
    embed = _dict(embed, ["embeds", i])
    for key, limit in _EMBED_LIMITS.items():
        _string(embed.get(key), ["embeds", i, key], limit)
    fields = _list(embed.get("fields"), ["embeds", i, "fields"])
    if len(fields) > 25:
        raise _too_long(["embeds", i, "fields"], 25)
    for j, f in enumerate(fields):
        f = _dict(f, ["embeds", i, "fields", j])
        for key, limit in (("name", 256), ("value", 1024)):
            if f.get(key) in (None, ""):
                raise form_error(["embeds", i, "fields", j, key], "BASE_TYPE_REQUIRED",
                                 "This field is required")
            _string(f.get(key), ["embeds", i, "fields", j, key], limit)
    footer = _dict(embed.get("footer"), ["embeds", i, "footer"])
    _string(footer.get("text"), ["embeds", i, "footer", "text"], 2048)
    author = _dict(embed.get("author"), ["embeds", i, "author"])
    _string(author.get("name"), ["embeds", i, "author", "name"], 256)


def check_message(body: dict[str, Any], *, webhook: bool) -> None:
    """Raise the DiscordError Discord would give for this create/edit body."""
    _string(body.get("content"), ["content"], 2000)
    embeds = _list(body.get("embeds"), ["embeds"])
    if len(embeds) > 10:
        raise _too_long(["embeds"], 10)
    for i, embed in enumerate(embeds):
        _check_embed(embed, i)
    if sum(embed_size(e) for e in embeds) > 6000:
        raise form_error(["embeds"], "MAX_EMBED_SIZE_EXCEEDED",
                         "Embed size exceeds maximum size of 6000")
    _list(body.get("components"), ["components"])
    _list(body.get("attachments"), ["attachments"])
    if webhook and body.get("username") is not None:
        name = body["username"]
        if not isinstance(name, str) or not 1 <= len(name) <= 80:
            raise form_error(["username"], "BASE_TYPE_BAD_LENGTH",
                             "Must be between 1 and 80 in length.")


def is_empty(content: str, embeds: list[Any], attachments: list[Any],
             components: list[Any]) -> bool:
    return not (content or embeds or attachments or components)


def empty_message() -> DiscordError:
    return DiscordError(400, 50006, "Cannot send an empty message")


def check_emoji(name: str) -> None:
    """A unicode emoji is accepted as given (``⏱`` and ``⏱️`` are different reactions).
    Custom emoji (``name:id``) are unknown here, as is anything without a symbol in it."""
    symbolic = any(ord(c) > 0x7F and unicodedata.category(c) in ("So", "Sk", "Mn", "Cf", "Me")
                   for c in name)
    if (not name or len(name) > 32 or not symbolic or ":" in name
            or any(c.isspace() for c in name)):
        raise DiscordError(400, 10014, "Unknown Emoji")
