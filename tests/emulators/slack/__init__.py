"""A Slack emulator on 127.0.0.1 (Web API + Socket Mode) for driving the real slack_sdk.

Point the clients at it, unmodified::

    web = WebClient(token=emu.bot_token, base_url=emu.base_url)       # .../api/
    sm = SocketModeClient(app_token=emu.app_token, web_client=web)   # builtin or aiohttp

The server runs aiohttp in a background thread; every control method is thread-safe and
meant for synchronous tests. ``emu.internal_errors`` holds emulator crashes (keep it empty).

Web API (``/api/<method>``; GET or POST; query, form, multipart or JSON bodies merged; token in
``Authorization: Bearer`` or a form/query ``token``; a JSON body's ``token`` is ignored, as
Slack does). Errors are HTTP 200 ``{"ok":false,"error":..}``; 429 + ``Retry-After`` +
``ratelimited`` only when injected. Methods: auth.test, apps.connections.open (app token
only; a single-use ``ws://127.0.0.1:P/link/?ticket=..&app_id=..``), chat.postMessage
(channel id, ``#name``, or a user id = the DM; thread_ts), chat.update, chat.delete,
chat.postEphemeral, chat.getPermalink, views.open (trigger_id single-use, expires after
``trigger_ttl`` = 3 s), conversations.info, conversations.replies, conversations.history
(oldest/latest/inclusive/limit/cursor).

Strict like Slack: unknown/absent token ``invalid_auth``/``not_authed``; the wrong kind of
token ``not_allowed_token_type``; a scope removed from ``emu.scopes`` ``missing_scope`` with
``needed``/``provided``; unknown channels and private ones the bot is not in
``channel_not_found``; public ones it is not in ``not_in_channel`` (unless
``chat:write.public``); archived ``is_archived``; neither text nor blocks ``no_text``; text
over 40,000 ``msg_too_long``; undecodable blocks ``invalid_blocks_format``; Block Kit
violations ``invalid_blocks`` with ``errors`` and ``response_metadata.messages`` (see
``blocks``: 50 blocks, section text 3000, header 150, button text 75, value 2000, action_id
255 and unique in its block, block_id 255 and unique, actions 25 and context 10 elements,
text object types, unknown block/element types); chat.update/delete of a missing message
``message_not_found``, of a user's ``cant_update_message``/``cant_delete_message``; replies of a
missing ts ``thread_not_found``; ephemeral to a non-member ``user_not_in_channel``; views.open
``invalid_trigger_id``/``exchanged_trigger_id``/``expired_trigger_id`` and view schema errors as
``invalid_arguments``. Stored blocks are normalised as Slack does (a generated block_id on
blocks without one, ``emoji: true`` on plain_text, ``verbatim: false`` on mrkdwn).

Socket Mode (``/link/``): hello on connect (``num_connections``, ``debug_info``,
``connection_info.app_id``); envelopes ``{"envelope_id","payload","type",
"accepts_response_payload"}`` (+ ``retry_attempt``/``retry_reason`` on events_api and on any
re-delivery); acks ``{"envelope_id"[, "payload"]}`` recorded; an envelope not acked within
``ack_timeout`` (3 s) is re-sent with the same envelope_id and retry_attempt + 1, up to
``max_retries`` (3), then ``failed``; pings answered with pongs and counted
(``hub.answer_pings = False`` plays a half-open link); ``disconnect`` (refresh_requested /
warning / link_disabled; the socket is closed ``close_after`` = 10 s later unless the client
closed it), ``close_socket`` (close frame only), ``drop_socket`` (abort, no close frame).
The bot's own posts, edits and deletions come back as ``message`` events
(``message_changed``/``message_deleted``) while ``api.echo_bot_messages`` (default on, as
Slack); a slash command's ack payload is shown to the user (ephemeral, or in_channel); a
view_submission ack closes the view unless ``response_action`` is errors/push.

Control API: ``add_user``/``create_channel``/``create_im``/``set_bot_member``/
``archive_channel``; ``click``/``submit_view``/``slash``/``post_user_message``/``push_envelope``
(inject as a user; interactive payloads carry a trigger_id good for views.open and a
response_url served here); ``messages``/``message``/``thread``/``ephemerals``/
``views_opened``/``calls``/``acks``/``envelopes``/``responses``/``connections`` (inspect);
``wait_until``/``wait_for_message``/``wait_for_update``/``wait_for_ephemeral``/
``wait_for_ack``/``wait_for_delivery``/``wait_for_connection``/``wait_for_call`` (block on a
threading.Condition, raise TimeoutError); ``fail_next``/``delay_next``/``drop_next``/
``disconnect``/``close_socket``/``drop_socket`` (faults); ``clock`` is replaceable to expire
triggers without sleeping.

Not emulated: Events API over HTTP and request signing, OAuth, users.* but users.info,
reactions.*/files.*,
attachments (accepted, not checked), mrkdwn rendering and mention parsing, message
unfurling, rate limits unless injected, views.update/push, home tabs, select menus and other
non-button interactions (``push_envelope`` sends any payload), multiple workspaces, the
10-connection cap (too_many_websockets), real Slack's spreading of envelopes over several
open connections (here: the newest one without a disconnect notice), and Slack's behaviour
for envelopes raised while no socket is open (here: queued for the next hello).

Confirmed error texts and shapes (Slack docs, slack_sdk fixtures, captured responses in
public code): the error codes above; ``invalid_blocks`` with ``errors`` + ``[ERROR]``-prefixed
``response_metadata.messages``; "no more than 50 items allowed", "must be less than 3001
characters" after "failed to match all allowed schemas", "must be less than 76 characters",
"missing required field: X", "must be a valid enum value", "unsupported type: X",
"must define either `text` or `fields`" (pointer ``/type``), views errors as
``invalid_arguments``; envelope and hello shapes; retry_reason "timeout". Guessed: texts for
duplicate ids, "must be an object"/"must be a string"/"must provide at least N items",
modal submit rule; thread_not_found from chat.postMessage with an unknown thread_ts; HTTP 404
``unknown_method``; ``not_allowed_token_type`` for auth.test with the app token; re-delivery
keeping the envelope_id (Slack may mint a new one) and re-delivering interactive envelopes
at all; HTTP 401 for a used ticket; the close code 1000 after disconnect; response_url
errors (``no_service``/``expired_url``/``used_url``, 5 uses in 30 min).
"""

from __future__ import annotations

from .blocks import check_blocks, check_view
from .emulator import SlackEmulator
from .models import (
    Ack,
    ApiCall,
    Channel,
    Connection,
    Envelope,
    Ephemeral,
    Message,
    ResponsePost,
    User,
    View,
)

__all__ = [
    "Ack",
    "ApiCall",
    "Channel",
    "Connection",
    "Envelope",
    "Ephemeral",
    "Message",
    "ResponsePost",
    "SlackEmulator",
    "User",
    "View",
    "check_blocks",
    "check_view",
]
