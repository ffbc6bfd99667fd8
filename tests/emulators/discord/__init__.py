"""A Discord emulator on 127.0.0.1 (webhook execute + bot-token REST) for the real clients.

Point the clients at it, unmodified::

    DiscordWebhook(url=emu.webhook_url, content="...").execute()   # .../api/webhooks/{id}/{tok}
    httpx.get(f"{emu.api_base}/users/@me", headers={"Authorization": f"Bot {emu.bot_token}"})

The server runs aiohttp in a background thread; every control method is thread-safe and meant
for synchronous tests (``start()`` also works inside an async test: the server has its own
loop). ``emu.internal_errors`` holds emulator crashes (keep it empty).

World: one guild with one text channel (``channel_id``), one webhook into it, the bot user
(``bot_user_id`` = ``application_id``) and users from ``add_user``. Ids are snowflakes
(``(ms - 1420070400000) << 22 | n``), strictly increasing, strings in JSON.

Webhooks (no auth; ``/api/webhooks/..`` and ``/api/v10/webhooks/..``): execute (JSON, or
multipart ``payload_json`` + any part with a filename, e.g. ``files[0]`` or discord-webhook's
``_name``; ``?wait=true`` case-insensitive -> 200 message, else 204; ``thread_id`` accepted and
ignored; unknown keys ignored), GET the webhook, GET/PATCH/DELETE its own messages (PATCH
replaces the given fields; ``attachments`` lists the ones to keep). Unknown id 404/10015, wrong
token 401/50027, another sender's message 404/10008.

Bot REST (``/api/v10``, ``Authorization: Bot <token>``, else 401 ``401: Unauthorized``):
users/@me; channels/{cid} (10003, 50001 without VIEW_CHANNEL); channel messages list (limit
1..100, after/before/around; always newest first) and get (READ_MESSAGE_HISTORY), create
(SEND_MESSAGES; ``message_reference`` replies are type 19 and ping the replied author unless
``allowed_mentions`` says otherwise), edit (own only, 403/50005), delete (others' need
MANAGE_MESSAGES); reactions: PUT/DELETE ``@me`` (ADD_REACTIONS), DELETE a user's / an emoji's /
all (MANAGE_MESSAGES, 403/50013), GET users (limit 1..100, ``after``; id ascending). Emoji are
URL-decoded and kept exactly (``⏱`` and ``⏱️`` differ); a name without a symbol (``abc``) or a
custom ``name:id`` is 400/10014. ``emu.permissions`` is the mutable permission set.
Without ``message_content_intent`` (settable at runtime) bot reads of messages not by the bot
and not mentioning it have content, embeds, attachments and components emptied.

Validation (400/50035 "Invalid Form Body" with nested ``_errors``): content 2000, 10 embeds,
embed title 256, description 4096, 25 fields, field name 256 / value 1024, footer 2048, author
256, 6000 in all (MAX_EMBED_SIZE_EXCEEDED), webhook username 1..80, wrong JSON types; an empty
message 400/50006; bad JSON 400/50109; unknown routes 404 ``404: Not Found``, wrong method 405.

Rate limits: every answer has ``X-RateLimit-Limit/-Remaining/-Reset/-Reset-After/-Bucket``
and ``Via: 1.1 google``. Buckets (route template; channel id and webhook id + token kept) allow
``emu.bucket_limit`` (50) per ``emu.bucket_window`` (1 s); bot-token calls share
``emu.global_limit`` (50/s). Over a limit: 429 ``{"message","retry_after","global"}`` with
``Retry-After``, ``X-RateLimit-Scope``, ``X-RateLimit-Global`` (global) and ``Via``; each is
recorded in ``emu.violations``. Faults (regex searched in the masked path):
``rate_limit_next``/``fail_next``/``delay_next``/``drop_next``; injected 429s are not
violations, and ``fail_next`` answers carry only the given headers.

Control API: ``add_user``/``react``/``unreact``/``post_user_message`` (act as a user);
``messages``/``message``/``reactions``/``attachment_bytes``/``edits``/``calls`` (inspect; call
paths show webhook tokens as ``***``, the bot token is never kept); ``wait_until``/
``wait_for_message``/``wait_for_edit``/``wait_for_call`` (threading.Condition, TimeoutError);
``revoke_bot_token``/``delete_webhook``. Attachments are also served at their ``url``.

Not emulated: the Gateway (no push of MESSAGE_CREATE/reactions/interactions), interactions and
their callbacks, threads and forum posts (``thread_id``/``thread_name`` accepted, ignored),
DMs, several channels or guilds, roles and role mentions, custom emoji, super reactions,
polls, stickers, webhook avatars, ``allowed_mentions`` beyond users/replied_user, component
validation (stored as sent), file size limits, Discord's real per-route limits (defaults are
lenient), invalid-request (10,000 per 10 min) bans, shared-scope buckets, and Discord's
exact 404/10008 vs 50001 precedence for unreadable channels.
"""

from __future__ import annotations

from .emulator import DiscordEmulator
from .models import ApiCall, DiscordError, Violation

__all__ = ["ApiCall", "DiscordEmulator", "DiscordError", "Violation"]
