"""Sessions and threads: which session a chat message belongs to. A text's scope is the
request message it replies to, else the session of the notice it replies to, else the
sessions whose thread (forum topic) it was written in."""

from __future__ import annotations

from collections.abc import Mapping

from tether_hooks.listener.book import ChatBook
from tether_hooks.listener.runtime import Runtime
from tether_hooks.models import ChatRef, Request
from tether_hooks.platforms.base import Incoming, MessageRef

__all__ = ["Threads"]


class Threads:
    """Owns the notice messages' sessions; the threads themselves are in the chat book."""

    def __init__(self, book: ChatBook, runtime: Runtime) -> None:
        self.book = book
        self.runtime = runtime
        self._notices: dict[tuple[str, str, str], str] = {}  # message -> session id

    def noticed(self, sid: str, ref: MessageRef) -> None:
        """A notice of session ``sid`` was posted as ``ref``: remember both ways."""
        self._notices[(ref.bridge, str(ref.chat_id), str(ref.message_id))] = sid
        if ref.thread_id is not None:
            known = self.book.session_chat(sid).get(ref.bridge)
            if known is None or known.get("thread_id") != ref.thread_id:
                self.runtime.spawn(self.runtime.io(self.book.set_thread, sid, ref.bridge,
                                                   ref.chat_id, ref.thread_id))

    def replied(self, requests: Mapping[str, Request], event: Incoming
                ) -> tuple[Request | None, ChatRef | None]:
        """The request whose message ``event`` replies to, and that message's ref."""
        reply = event.reply_to
        if reply is None:
            return None, None
        found = self.book.by_message(reply.bridge, reply.chat_id, reply.message_id)
        if found is None or found[0] not in requests:
            return None, None
        return requests[found[0]], found[1]

    def reply_points_nowhere(self, requests: Mapping[str, Request], event: Incoming) -> bool:
        """Does ``event`` reply to a message that is neither a request still in the store
        nor a notice of a session? (An old request's message, or one the listener forgot
        in a restart.) Such a reply names something: it never falls back to "the request
        that waits"."""
        if event.reply_to is None:
            return False
        request, _ = self.replied(requests, event)
        reply = event.reply_to
        key = (reply.bridge, str(reply.chat_id), str(reply.message_id))
        return request is None and key not in self._notices

    def scope(self, requests: Mapping[str, Request], event: Incoming
              ) -> tuple[Request | None, set[str] | None]:
        """The request replied to, or the sessions the event's thread/reply belongs to."""
        request, _ = self.replied(requests, event)
        if request is not None:
            return request, None
        reply = event.reply_to
        if reply is not None:
            key = (reply.bridge, str(reply.chat_id), str(reply.message_id))
            if key in self._notices:
                return None, {self._notices[key]}
        if event.thread_id is not None:
            return None, self.book.sessions_in(event.bridge, str(event.thread_id))
        return None, None
