"""The Discord emulator, driven by the real discord-webhook client (requests) and httpx;
nothing patched."""

from __future__ import annotations

import asyncio
import http.client
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from discord_webhook import DiscordEmbed, DiscordWebhook

from emulators.discord import DiscordEmulator

STOPWATCH = "\u23f1"  # ⏱ as typed
STOPWATCH_VS = "\u23f1\ufe0f"  # ⏱️ as Discord's apps send it


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[DiscordEmulator]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    emulator = DiscordEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()
    assert not emulator.internal_errors, "\n".join(emulator.internal_errors)


@pytest.fixture
def bot(emu: DiscordEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.api_base, timeout=5,
                      headers={"Authorization": f"Bot {emu.bot_token}"}) as client:
        yield client


def msgs_path(emu: DiscordEmulator, mid: str = "") -> str:
    return f"/channels/{emu.channel_id}/messages" + (f"/{mid}" if mid else "")


def webhook_post(emu: DiscordEmulator, content: str = "Approve job 42?") -> dict[str, Any]:
    response = DiscordWebhook(url=emu.webhook_url, content=content).execute()
    assert response.status_code == 200, response.text
    return response.json()


# -- webhooks (discord-webhook) -------------------------------------------------------------


def test_execute_returns_the_message_and_sets_id(emu: DiscordEmulator) -> None:
    hook = DiscordWebhook(url=emu.webhook_url, content="Approve job 42?", username="notifier")
    hook.add_embed(DiscordEmbed(title="Job 42", description="needs approval", color=242424))
    response = hook.execute()
    assert response.status_code == 200
    body = response.json()
    assert hook.id == body["id"]
    assert body["webhook_id"] == emu.webhook_id and body["type"] == 0
    assert body["author"] == {**body["author"], "id": emu.webhook_id, "username": "notifier",
                              "bot": True}
    assert body["embeds"] == [{"type": "rich", "title": "Job 42",
                               "description": "needs approval", "color": 242424}]
    assert "reactions" not in body
    assert int(body["id"]) > int(emu.channel_id)  # snowflakes increase
    stored = emu.wait_for_message(lambda m: m["id"] == hook.id)
    assert stored["content"] == "Approve job 42?"
    call = emu.calls("POST", r"/webhooks/")[0]
    assert emu.webhook_token not in call.path and call.query == {"wait": "True"}
    assert call.body["wait"] is True  # the client's extra keys are ignored, not refused


def test_add_file_is_stored_as_an_attachment(emu: DiscordEmulator) -> None:
    hook = DiscordWebhook(url=emu.webhook_url, content="log attached")
    hook.add_file(b"line 1\nline 2\n", "run.log")
    body = hook.execute().json()
    (attachment,) = body["attachments"]
    assert attachment["filename"] == "run.log" and attachment["size"] == 14
    assert emu.attachment_bytes(body["id"], "run.log") == b"line 1\nline 2\n"
    assert httpx.get(attachment["url"]).content == b"line 1\nline 2\n"


def test_edit_replaces_content(emu: DiscordEmulator) -> None:
    hook = DiscordWebhook(url=emu.webhook_url, content="Approve job 42?")
    hook.execute()
    hook.set_content("Job 42: approved by alice")
    response = hook.edit()
    assert response.status_code == 200
    assert response.json()["edited_timestamp"] is not None
    edited = emu.wait_for_edit(hook.id)
    assert edited["content"] == "Job 42: approved by alice"
    assert emu.edits(hook.id)[0]["content"] == "Job 42: approved by alice"
    assert hook.delete().status_code == 204
    assert emu.messages() == []


def test_too_long_content_is_refused_like_discord(emu: DiscordEmulator) -> None:
    response = DiscordWebhook(url=emu.webhook_url, content="x" * 2001).execute()
    assert response.status_code == 400
    assert response.json() == {"message": "Invalid Form Body", "code": 50035, "errors": {
        "content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                 "message": "Must be 2000 or fewer in length."}]}}}
    assert emu.messages() == []


def test_embed_limits(emu: DiscordEmulator) -> None:
    big = {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]}
    response = httpx.post(emu.webhook_url, json=big)
    assert response.status_code == 400
    assert response.json()["errors"]["embeds"]["_errors"][0]["code"] == \
        "MAX_EMBED_SIZE_EXCEEDED"
    field = {"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]}
    errors = httpx.post(emu.webhook_url, json=field).json()["errors"]
    assert errors["embeds"]["0"]["fields"]["0"]["value"]["_errors"][0]["message"] == \
        "Must be 1024 or fewer in length."
    empty = httpx.post(emu.webhook_url, json={"content": "", "embeds": []})
    assert empty.status_code == 400 and empty.json()["code"] == 50006


def test_wait_false_gets_204(emu: DiscordEmulator) -> None:
    response = httpx.post(emu.webhook_url, json={"content": "fire and forget"})
    assert response.status_code == 204 and response.content == b""
    assert emu.messages()[0]["content"] == "fire and forget"


def test_429_with_via_is_retried(emu: DiscordEmulator) -> None:
    emu.rate_limit_next("POST", r"/webhooks/", retry_after=0.1)
    hook = DiscordWebhook(url=emu.webhook_url, content="retried", rate_limit_retry=True)
    assert hook.execute().status_code == 200
    assert [c.status for c in emu.calls("POST")] == [429, 200]
    assert len(emu.messages()) == 1 and emu.violations == []


def test_429_without_via_raises(emu: DiscordEmulator) -> None:
    emu.rate_limit_next("POST", r"/webhooks/", via=False)
    hook = DiscordWebhook(url=emu.webhook_url, content="x", rate_limit_retry=True)
    with pytest.raises(http.client.HTTPException):
        hook.execute()
    assert emu.messages() == []


def test_wrong_token_and_unknown_webhook(emu: DiscordEmulator) -> None:
    bad = emu.webhook_url[:-4] + "nope"
    response = DiscordWebhook(url=bad, content="x").execute()
    assert response.status_code == 401
    assert response.json() == {"message": "Invalid Webhook Token", "code": 50027}
    unknown = emu.webhook_url.replace(emu.webhook_id, "1234567890")
    response = DiscordWebhook(url=unknown, content="x").execute()
    assert response.status_code == 404
    assert response.json() == {"message": "Unknown Webhook", "code": 10015}
    emu.delete_webhook()
    assert httpx.get(emu.webhook_url).json()["code"] == 10015


def test_get_webhook_and_v10_prefix(emu: DiscordEmulator) -> None:
    url = emu.webhook_url.replace("/api/", "/api/v10/")
    body = httpx.get(url).json()
    assert body["id"] == emu.webhook_id and body["type"] == 1
    assert body["channel_id"] == emu.channel_id


# -- bot REST (httpx) -----------------------------------------------------------------------


def test_me_channel_and_unknown_route(emu: DiscordEmulator, bot: httpx.Client) -> None:
    me = bot.get("/users/@me").json()
    assert me["id"] == emu.bot_user_id and me["bot"] is True
    channel = bot.get(f"/channels/{emu.channel_id}").json()
    assert channel["type"] == 0 and channel["guild_id"] == emu.guild_id
    assert bot.get("/channels/1").json() == {"message": "Unknown Channel", "code": 10003}
    missing = bot.get("/nothing/here")
    assert missing.status_code == 404
    assert missing.json() == {"message": "404: Not Found", "code": 0}


def test_list_is_newest_first_even_with_after(emu: DiscordEmulator, bot: httpx.Client) -> None:
    emu.message_content_intent = True
    first = webhook_post(emu, "request")
    alice = emu.add_user(username="alice")
    replies = [emu.post_user_message(f"reply {i}", alice["id"]) for i in range(3)]
    listed = bot.get(msgs_path(emu), params={"after": first["id"], "limit": 2}).json()
    assert [m["id"] for m in listed] == [replies[1]["id"], replies[0]["id"]]
    everything = bot.get(msgs_path(emu)).json()
    assert [m["content"] for m in everything] == ["reply 2", "reply 1", "reply 0", "request"]
    assert bot.get(msgs_path(emu), params={"limit": 101}).json()["code"] == 50035


def test_intent_off_hides_content_unless_the_bot_is_mentioned(
        emu: DiscordEmulator, bot: httpx.Client) -> None:
    alice = emu.add_user(username="alice")
    plain = emu.post_user_message("approve 42", alice["id"])
    pinged = emu.post_user_message("approve 43", alice["id"], mention_bot=True)
    own = bot.post(msgs_path(emu), json={"content": "Approve job 44?"}).json()
    reply = emu.post_user_message("yes", alice["id"], reply_to=own["id"])
    seen = {m["id"]: m for m in bot.get(msgs_path(emu)).json()}
    assert seen[plain["id"]]["content"] == "" and seen[plain["id"]]["author"]["id"] == \
        alice["id"]
    assert seen[pinged["id"]]["content"] == f"<@{emu.bot_user_id}> approve 43"
    assert seen[own["id"]]["content"] == "Approve job 44?"
    assert seen[reply["id"]]["type"] == 19 and seen[reply["id"]]["content"] == "yes"
    assert seen[reply["id"]]["message_reference"]["message_id"] == own["id"]
    assert emu.message(plain["id"])["content"] == "approve 42"  # stored in full
    emu.message_content_intent = True
    assert bot.get(msgs_path(emu, plain["id"])).json()["content"] == "approve 42"


def test_reactions_keep_both_stopwatch_forms_apart(emu: DiscordEmulator,
                                                   bot: httpx.Client) -> None:
    mid = webhook_post(emu)["id"]
    encoded = "%E2%8F%B1%EF%B8%8F"
    assert bot.put(f"{msgs_path(emu, mid)}/reactions/{encoded}/@me").status_code == 204
    alice = emu.add_user(username="alice")
    emu.react(mid, STOPWATCH, alice["id"])
    assert emu.reactions(mid) == {STOPWATCH_VS: [emu.bot_user_id], STOPWATCH: [alice["id"]]}
    reactions = bot.get(msgs_path(emu, mid)).json()["reactions"]
    assert [(r["emoji"]["name"], r["count"], r["me"]) for r in reactions] == [
        (STOPWATCH_VS, 1, True), (STOPWATCH, 1, False)]
    users = bot.get(f"{msgs_path(emu, mid)}/reactions/%E2%8F%B1").json()
    assert [u["id"] for u in users] == [alice["id"]]
    bad = bot.put(f"{msgs_path(emu, mid)}/reactions/ok/@me")
    assert bad.status_code == 400 and bad.json()["code"] == 10014


def test_reaction_users_page_with_after(emu: DiscordEmulator, bot: httpx.Client) -> None:
    mid = webhook_post(emu)["id"]
    people = [emu.add_user(username=f"u{i}")["id"] for i in range(5)]
    for uid in reversed(people):
        emu.react(mid, "✅", uid)
    url = f"{msgs_path(emu, mid)}/reactions/%E2%9C%85"
    page1 = [u["id"] for u in bot.get(url, params={"limit": 2}).json()]
    page2 = [u["id"] for u in bot.get(url, params={"limit": 2, "after": page1[-1]}).json()]
    page3 = [u["id"] for u in bot.get(url, params={"after": page2[-1]}).json()]
    assert page1 + page2 + page3 == sorted(people, key=int)


def test_manage_messages_needed_to_remove_others_reactions(
        emu: DiscordEmulator, bot: httpx.Client) -> None:
    mid = webhook_post(emu)["id"]
    alice = emu.add_user(username="alice")
    emu.react(mid, "❌", alice["id"])
    emu.permissions.discard("MANAGE_MESSAGES")
    url = f"{msgs_path(emu, mid)}/reactions/%E2%9D%8C/{alice['id']}"
    refused = bot.delete(url)
    assert refused.status_code == 403
    assert refused.json() == {"message": "Missing Permissions", "code": 50013}
    emu.permissions.add("MANAGE_MESSAGES")
    assert bot.delete(url).status_code == 204 and emu.reactions(mid) == {}


def test_bot_cannot_edit_others_messages(emu: DiscordEmulator, bot: httpx.Client) -> None:
    mid = webhook_post(emu)["id"]
    refused = bot.patch(msgs_path(emu, mid), json={"content": "mine now"})
    assert refused.status_code == 403 and refused.json()["code"] == 50005
    own = bot.post(msgs_path(emu), json={"content": "Approve?",
                                         "message_reference": {"message_id": mid}}).json()
    assert own["type"] == 19 and own["referenced_message"]["id"] == mid
    edited = bot.patch(msgs_path(emu, own["id"]), json={"content": "Approved"}).json()
    assert edited["content"] == "Approved" and edited["edited_timestamp"]
    unknown = bot.post(msgs_path(emu), json={"content": "x",
                                             "message_reference": {"message_id": "1"}})
    assert unknown.status_code == 400 and unknown.json()["code"] == 50035


def test_rate_limit_headers_and_a_real_violation(emu: DiscordEmulator,
                                                 bot: httpx.Client) -> None:
    first = bot.get("/users/@me")
    for name in ("Limit", "Remaining", "Reset", "Reset-After", "Bucket"):
        assert f"X-RateLimit-{name}" in first.headers
    assert first.headers["Via"] == "1.1 google"
    emu.bucket_limit, emu.bucket_window = 2, 1.0
    codes = [bot.get(msgs_path(emu)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = bot.get(msgs_path(emu))
    body = limited.json()
    assert body["message"] == "You are being rate limited." and body["global"] is False
    assert 0 < body["retry_after"] <= 1.0 and limited.headers["X-RateLimit-Scope"] == "user"
    assert limited.headers["X-RateLimit-Remaining"] == "0" and "Retry-After" in limited.headers
    assert len(emu.violations) == 2
    assert bot.get("/users/@me").status_code == 200  # another bucket
    time.sleep(body["retry_after"] + 0.05)
    assert bot.get(msgs_path(emu)).status_code == 200


def test_global_limit(emu: DiscordEmulator, bot: httpx.Client) -> None:
    emu.global_limit = 3
    codes = [bot.get("/users/@me" if i % 2 else msgs_path(emu)).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    assert emu.violations[0].scope == "global"


def test_revoked_token_and_no_token(emu: DiscordEmulator, bot: httpx.Client) -> None:
    assert bot.get("/users/@me").status_code == 200
    emu.revoke_bot_token()
    refused = bot.get("/users/@me")
    assert refused.status_code == 401
    assert refused.json() == {"message": "401: Unauthorized", "code": 0}
    assert httpx.get(f"{emu.api_base}/users/@me").status_code == 401
    assert [c.auth for c in emu.calls()] == ["bot", "bad", "none"]
    assert all(emu.bot_token[:-8] not in str(c) for c in emu.calls())


def test_faults(emu: DiscordEmulator, bot: httpx.Client) -> None:
    emu.fail_next("GET", r"/users/@me", 502, "<html>Bad Gateway</html>")
    emu.delay_next("GET", r"/users/@me", 0.3)
    emu.drop_next("PUT", r"/reactions/", after=True)
    response = bot.get("/users/@me")
    assert response.status_code == 502 and response.text == "<html>Bad Gateway</html>"
    started = time.monotonic()
    assert bot.get("/users/@me").status_code == 200
    assert time.monotonic() - started >= 0.3
    mid = webhook_post(emu)["id"]
    with pytest.raises(httpx.HTTPError):
        bot.put(f"{msgs_path(emu, mid)}/reactions/%E2%9C%85/@me")
    assert emu.reactions(mid) == {"✅": [emu.bot_user_id]}  # done, then dropped
    assert emu.wait_for_call("PUT", r"/reactions/").status == 0


def test_usable_from_async_code() -> None:
    async def main() -> None:  # started, driven and waited on inside a running loop
        with DiscordEmulator() as emu:
            headers = {"Authorization": f"Bot {emu.bot_token}"}
            async with httpx.AsyncClient(headers=headers) as client:
                response = await client.get(f"{emu.api_base}/users/@me")
            assert response.json()["id"] == emu.bot_user_id
            assert emu.wait_for_call("GET", r"/users/@me").status == 200

    asyncio.run(main())


def test_drop_before_has_no_effect(emu: DiscordEmulator) -> None:
    emu.drop_next("POST", r"/webhooks/")
    with pytest.raises(httpx.HTTPError):
        httpx.post(emu.webhook_url, params={"wait": "true"}, json={"content": "lost"})
    assert emu.messages() == []
    assert emu.calls("POST")[0].status == 0


def test_bot_multipart_odd_queries_and_wrong_method(emu: DiscordEmulator,
                                                    bot: httpx.Client) -> None:
    files = {"files[0]": ("plan.txt", b"step 1", "text/plain")}
    sent = bot.post(msgs_path(emu), data={"payload_json": '{"content": "plan"}'},
                    files=files).json()
    assert sent["attachments"][0]["content_type"] == "text/plain"
    assert emu.attachment_bytes(sent["id"], "plan.txt") == b"step 1"
    odd = bot.get(msgs_path(emu), params={"after": "yesterday"})
    assert odd.status_code == 400 and odd.json()["code"] == 50035
    assert bot.put(msgs_path(emu)).status_code == 405
    threaded = httpx.post(emu.webhook_url, params={"wait": "true", "thread_id": "1"},
                          json={"content": "in a thread"})
    assert threaded.status_code == 200


def test_wait_timeout_says_what_it_waited_for(emu: DiscordEmulator) -> None:
    with pytest.raises(TimeoutError, match="an edit of 1"):
        emu.wait_for_edit("1", timeout=0.1)
