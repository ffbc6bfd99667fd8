"""Block Kit checks and the normalisation Slack applies to stored blocks.

Messages follow Slack's schema errors: ``<what> [json-pointer:<path>]``. The forms seen from
Slack are "no more than 50 items allowed", "must be less than 3001 characters" (after "failed
to match all allowed schemas" when a field takes plain_text or mrkdwn), "must be more than 0
characters", "missing required field: X", "must be a valid enum value", "unsupported type: X"
and "must define either `text` or `fields`". Duplicate ids and "must be an object" are guesses.
Lengths are counted in code points.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .models import SlackError

__all__ = [
    "MAX_BLOCKS",
    "MAX_TEXT",
    "check_blocks",
    "check_view",
    "invalid_arguments",
    "invalid_blocks",
    "normalise_blocks",
]

MAX_BLOCKS = 50  # per message; 100 in a modal or the home tab
MAX_TEXT = 40_000  # a message's top-level text (msg_too_long beyond)
_TEXT_TYPES = {"plain_text", "mrkdwn"}
_SELECTS = {
    f"{multi}{kind}_select"
    for multi in ("", "multi_")
    for kind in ("static", "external", "users", "conversations", "channels")
}
_INTERACTIVE = _SELECTS | {
    "button", "checkboxes", "datepicker", "datetimepicker", "overflow", "radio_buttons",
    "timepicker", "workflow_button",
}
_ACCESSORIES = _INTERACTIVE | {"image"}
_INPUTS = _SELECTS | {
    "plain_text_input", "checkboxes", "radio_buttons", "datepicker", "timepicker",
    "datetimepicker", "email_text_input", "number_input", "url_text_input", "file_input",
    "rich_text_input",
}
_BLOCK_TYPES = {
    "section", "divider", "image", "actions", "context", "header", "input", "rich_text",
    "file", "video", "markdown",
}


def _at(message: str, pointer: str) -> str:
    return f"{message} [json-pointer:{pointer}]"


def invalid_blocks(messages: list[str]) -> SlackError:
    """chat.* refusal: both the bare ``errors`` and ``[ERROR]``-prefixed metadata, as Slack."""
    return SlackError(
        "invalid_blocks",
        extra={"errors": messages,
               "response_metadata": {"messages": [f"[ERROR] {m}" for m in messages]}},
    )


def invalid_arguments(messages: list[str]) -> SlackError:
    """views.* refusal (Slack says invalid_arguments there)."""
    return SlackError(
        "invalid_arguments",
        extra={"response_metadata": {"messages": [f"[ERROR] {m}" for m in messages]}},
    )


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.block_ids: set[str] = set()

    def err(self, message: str, pointer: str) -> None:
        self.errors.append(_at(message, pointer))

    def length(self, value: Any, limit: int, pointer: str, *, minimum: int = 0) -> bool:
        if not isinstance(value, str):
            self.err("must be a string", pointer)
            return False
        if len(value) > limit:
            self.err(f"must be less than {limit + 1} characters", pointer)
            return False
        if len(value) < minimum:
            self.err(f"must be more than {minimum - 1} characters", pointer)
            return False
        return True

    def text(self, obj: Any, pointer: str, limit: int, *, plain_only: bool = False) -> None:
        """A text composition object."""
        if not isinstance(obj, dict):
            self.err("must be an object", pointer)
            return
        kind = obj.get("type")
        if kind is None:
            self.err("missing required field: type", pointer)
            return
        if kind not in ({"plain_text"} if plain_only else _TEXT_TYPES):
            self.err("must be a valid enum value", f"{pointer}/type")
            return
        if "text" not in obj:
            self.err("missing required field: text", pointer)
            return
        value = obj["text"]
        if isinstance(value, str) and len(value) > limit and not plain_only:
            self.err("failed to match all allowed schemas", pointer)
        self.length(value, limit, f"{pointer}/text", minimum=1)

    def items(self, value: Any, pointer: str, limit: int, *, minimum: int = 1) -> list[Any]:
        if not isinstance(value, list):
            self.err("must be an array", pointer)
            return []
        if len(value) > limit:
            self.err(f"no more than {limit} items allowed", pointer)
        elif len(value) < minimum:
            self.err(f"must provide at least {minimum} items", pointer)
        return value

    def element(self, el: Any, pointer: str, allowed: set[str], action_ids: set[str]) -> None:
        if not isinstance(el, dict):
            self.err("must be an object", pointer)
            return
        kind = el.get("type")
        if kind is None:
            self.err("missing required field: type", pointer)
            return
        if kind not in allowed:
            self.err(f"unsupported type: {kind}", f"{pointer}/type")
            return
        if kind == "image":
            self.image(el, pointer)
            return
        if "action_id" in el and self.length(el["action_id"], 255, f"{pointer}/action_id"):
            if el["action_id"] in action_ids:
                self.err("duplicate action_id", f"{pointer}/action_id")
            action_ids.add(el["action_id"])
        if "placeholder" in el:
            self.text(el["placeholder"], f"{pointer}/placeholder", 150, plain_only=True)
        if kind == "button":
            if "text" not in el:
                self.err("missing required field: text", pointer)
            else:
                self.text(el["text"], f"{pointer}/text", 75, plain_only=True)
            if "value" in el:
                self.length(el["value"], 2000, f"{pointer}/value")
            if "url" in el:
                self.length(el["url"], 3000, f"{pointer}/url")
            if "style" in el and el["style"] not in ("primary", "danger"):
                self.err("must be a valid enum value", f"{pointer}/style")
        for i, option in enumerate(el.get("options") or []):
            if isinstance(option, dict):
                self.text(option.get("text"), f"{pointer}/options/{i}/text", 75)
        if "options" in el:
            self.items(el["options"], f"{pointer}/options", 100)

    def image(self, obj: dict[str, Any], pointer: str) -> None:
        if "alt_text" not in obj:
            self.err("missing required field: alt_text", pointer)
        else:
            self.length(obj["alt_text"], 2000, f"{pointer}/alt_text")
        if "image_url" not in obj and "slack_file" not in obj:
            self.err("missing required field: image_url", pointer)
        elif "image_url" in obj:
            self.length(obj["image_url"], 3000, f"{pointer}/image_url", minimum=1)

    def block(self, block: Any, pointer: str) -> None:
        if not isinstance(block, dict):
            self.err("must be an object", pointer)
            return
        kind = block.get("type")
        if kind is None:
            self.err("missing required field: type", pointer)
            return
        if kind not in _BLOCK_TYPES:
            self.err(f"unsupported type: {kind}", f"{pointer}/type")
            return
        if "block_id" in block and self.length(block["block_id"], 255, f"{pointer}/block_id"):
            if block["block_id"] in self.block_ids:
                self.err("duplicate block_id", f"{pointer}/block_id")
            self.block_ids.add(block["block_id"])
        action_ids: set[str] = set()  # action_ids are unique within their block
        if kind == "section":
            if "text" not in block and "fields" not in block:
                self.err("must define either `text` or `fields`", f"{pointer}/type")
            if "text" in block:
                self.text(block["text"], f"{pointer}/text", 3000)
            if "fields" in block:
                for i, f in enumerate(self.items(block["fields"], f"{pointer}/fields", 10)):
                    self.text(f, f"{pointer}/fields/{i}", 2000)
            if "accessory" in block:
                self.element(block["accessory"], f"{pointer}/accessory", _ACCESSORIES,
                             action_ids)
        elif kind == "header":
            if "text" not in block:
                self.err("missing required field: text", pointer)
            else:
                self.text(block["text"], f"{pointer}/text", 150, plain_only=True)
        elif kind == "actions":
            for i, el in enumerate(self.items(block.get("elements"), f"{pointer}/elements", 25)):
                self.element(el, f"{pointer}/elements/{i}", _INTERACTIVE, action_ids)
        elif kind == "context":
            for i, el in enumerate(self.items(block.get("elements"), f"{pointer}/elements", 10)):
                where = f"{pointer}/elements/{i}"
                if isinstance(el, dict) and el.get("type") == "image":
                    self.image(el, where)
                else:
                    self.text(el, where, 3000)
        elif kind == "image":
            self.image(block, pointer)
        elif kind == "input":
            if "label" not in block:
                self.err("missing required field: label", pointer)
            else:
                self.text(block["label"], f"{pointer}/label", 2000, plain_only=True)
            if "element" not in block:
                self.err("missing required field: element", pointer)
            else:
                self.element(block["element"], f"{pointer}/element", _INPUTS, action_ids)
        elif kind == "markdown":
            self.length(block.get("text"), 12_000, f"{pointer}/text", minimum=1)
        elif kind == "rich_text":
            self.items(block.get("elements"), f"{pointer}/elements", 100, minimum=0)


def check_blocks(blocks: Any, *, pointer: str = "/blocks", limit: int = MAX_BLOCKS) -> list[str]:
    """Schema errors of a blocks array (empty when Slack would take it)."""
    checker = _Checker()
    for i, block in enumerate(checker.items(blocks, pointer, limit, minimum=0)):
        checker.block(block, f"{pointer}/{i}")
    return checker.errors


def check_view(view: Any) -> list[str]:
    """Schema errors of a modal (or home tab) view."""
    if not isinstance(view, dict):
        return [_at("failed to match all allowed schemas", "/view")]
    checker = _Checker()
    kind = view.get("type")
    if kind not in ("modal", "home"):
        if kind is None:
            checker.err("missing required field: type", "/view")
        else:
            checker.err("must be a valid enum value", "/view/type")
        return checker.errors
    if kind == "modal":
        if "title" not in view:
            checker.err("missing required field: title", "/view")
        else:
            checker.text(view["title"], "/view/title", 24, plain_only=True)
        for button in ("submit", "close"):
            if button in view:
                checker.text(view[button], f"/view/{button}", 24, plain_only=True)
    for key, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
        if key in view:
            checker.length(view[key], limit, f"/view/{key}")
    if "blocks" not in view:
        checker.err("missing required field: blocks", "/view")
        return checker.errors
    blocks = checker.items(view["blocks"], "/view/blocks", 100, minimum=0)
    for i, block in enumerate(blocks):
        checker.block(block, f"/view/blocks/{i}")
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if kind == "modal" and has_input and "submit" not in view:
        checker.err("must provide `submit` when `blocks` has an input block", "/view")
    return checker.errors


def normalise_blocks(blocks: list[Any], new_block_id: Callable[[], str]) -> list[dict[str, Any]]:
    """What Slack stores and echoes: a generated ``block_id`` on every block that had none,
    ``emoji: true`` on plain_text objects and ``verbatim: false`` on mrkdwn ones."""
    out = copy.deepcopy(blocks)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "plain_text" and isinstance(node.get("text"), str):
                node.setdefault("emoji", True)
            elif node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                node.setdefault("verbatim", False)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for block in out:
        if isinstance(block, dict):
            block.setdefault("block_id", new_block_id())
    walk(out)
    return out
