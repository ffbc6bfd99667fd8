"""Mask likely secrets before text leaves the machine: one rule table for every sink.

Sinks: chat (previews, "Show full", notices, answers: ``platforms.telegram_render``), the audit log
and stored summary (``audit.summarize_input``: hashed markers), logs and crash logs.

Markers: ``«secret: GitHub token»``; hashed (same secret, same hash; chat drops it):
``«secret: GitHub token sha256:0123456789ab»``.

What is masked (``text``):
* token shapes: ``sk-``/``sk-ant-``, ``gh[pousr]_``, ``github_pat_``, ``glpat-``,
  ``xox?-``, ``xapp-``, AWS key ids (and a 40-character key near one), ``AIza``, ``ya29.``,
  ``GOCSPX-``, Stripe ``sk_/rk_live|test_``, ``whsec_``, Discord bot tokens, JWTs, npm/PyPI/
  Hugging Face tokens, chat platforms' tokens (``platforms.secrets``: Telegram's); PEM
  private key blocks (to the end if unterminated);
* headers (``Authorization:``, ``Cookie:``), ``Bearer``, ``-u user:pass``, ``mysql -pX``,
  ``sshpass -p``, ``docker login -p``, ``redis-cli -a``, ``pass:X``, ``echo X | ...
  --password-stdin``, ``set NAME X``, ``curl -b k=v``, URL passwords and secret query
  parameters, webhook secrets, ``<password>X</password>``, ``ENV NAME X``, .netrc, name/value
  pairs (``name: DB_PASSWORD`` + ``value: X``), YAML multi-word values;
* the value of a *secret name* (``redact_names``: a secret word anywhere in the name,
  ``SECRET_KEY_BASE``, ``GITHUB_TOKEN_RO``; or a bare pass/pwd/auth/cookie...) in
  ``NAME=value``, ``name = "value"`` (escaped ``\\"`` quotes too, cut values, diff lines
  ``-NAME = v``), ``name: value``, ``"name" => v``, ``--name value`` and in
  structures (``value``: everything under a secret key; lists of words as one command line).
  Not masked: ``$VAR`` references, empty or ``None``-like values, code: a name
  (``redact_names.code_name``: letters and ``_``, no digit, the name itself or a name for a
  secret: ``token: TOKEN_ENV_VAR``, ``api_key=api_key``; ``MyPassword123``, ``secret``,
  ``Summer2024secret`` are masked), a call, an expression (``a + b``), a dotted value unless
  random, in a header or a YAML line (``X-Vault-Token: hvs.CAES…``). A typed assignment is
  judged by its value (``password: str = "x"``); a bare value masked takes what is glued to
  it (``P@ss&word``) and, spaced, its other words.
* ``redact_patterns`` from config.toml: the whole match, or its ``secret`` group.

Stdlib only, rules (``redact_rules``) compiled on first need after cheap substring hints;
every quantifier is bounded, possessive or anchored on a literal: linear time."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from tether_hooks.redact_names import code_name, config_line, dotted_code, secret_key, secret_name
from tether_hooks.redact_rules import (  # one rule table (ours: check_patterns)
    _ASSIGN,
    _AWS_ID,
    _B64_40,
    _EXPR,
    _FLAG,
    _GENERIC,
    _GLUED,
    _LITERALS,
    _MORE,
    _NAME_HINTS,
    _REFERENCE,
    _SPANS,
    _TOKEN_HINTS,
    _TOKEN_RE,
    _TOKENS,
    _URL_KEYS,
    check_patterns,
)
from tether_hooks.redact_sources import configured, platform_tokens

__all__ = ["MARK", "argv", "check_patterns", "chat", "secret_key", "secret_name", "text", "value"]

MARK = "«secret"
_MAX_DEPTH = 100
_HASHED = r"«secret: ([^«»\n]{0,80}?) sha256:[0-9a-f]{12}»"


_compiled: dict[str, re.Pattern[str]] = {}


def _re(source: str, flags: int = 0) -> re.Pattern[str]:
    pattern = _compiled.get(source)
    if pattern is None:
        pattern = _compiled[source] = re.compile(source, flags)
    return pattern


def _is_reference(value: str) -> bool:
    return not value.strip() or bool(_re(_REFERENCE).fullmatch(value.strip()))


def _mark(label: str, secret: str, hashed: bool) -> str:
    if not hashed:
        return f"«secret: {label}»"
    import hashlib

    digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"«secret: {label} sha256:{digest}»"


def _span(m: re.Match[str], group: str | int, label: str, hashed: bool) -> str:
    """The match with ``group`` masked (its surrounding whitespace kept)."""
    start, end = m.span(group)
    secret = m.string[start:end]
    core = secret.strip()
    if not core or core.startswith("«"):
        return m.group(0)
    lead = secret[: len(secret) - len(secret.lstrip())]
    trail = secret[len(secret.rstrip()):]
    s0 = m.start(0)
    return (m.string[s0:start] + lead + _mark(label, core, hashed) + trail
            + m.string[end:m.end(0)])


def _masker(group: str | int, label: str, hashed: bool) -> Callable[[re.Match[str]], str]:
    """``_span`` for ``re.sub``: masks ``group`` of each match."""
    return lambda m: _span(m, group, label, hashed)


def _checked_masker(label: str, hashed: bool) -> Callable[[re.Match[str]], str]:
    """``_span_checked`` for ``re.sub``."""
    return lambda m: _span_checked(m, label, hashed)


def _span_checked(m: re.Match[str], label: str, hashed: bool) -> str:
    """``_span`` of group ``s``, unless it is a ``$VAR`` or ``uid:gid`` (``-u 1000:1000``)."""
    found = m.groupdict()
    name = found.get("name")
    if name is not None and not (secret_key(name) or (
            label == "URL secret" and name.lower().replace("_", "-") in _URL_KEYS)):
        return m.group(0)
    if label == "multi-word":
        words = found["s"].strip()
        if (" " not in words or any(c in words for c in "()[]=;{}")
                or words.endswith(":") or words.split()[0].lower() in _LITERALS):
            return m.group(0)
        label = _label(str(name))
    if _is_reference(found["s"]) or (
            found.get("user") is not None and found["user"].isdigit() and found["s"].isdigit()):
        return m.group(0)
    return _span(m, "s", label, hashed)


def _label(name: str) -> str:
    low = name.lower()
    if "pass" in low or "pwd" in low:
        return "password"
    if "token" in low:
        return "token"
    return "key" if low.endswith("key") else "secret"


def _quoted(v: str) -> tuple[str, str, str] | None:
    """(prefix, inner, quote) of a quoted value, or None."""
    if v[:1] == "\\" and v[1:2] in ("\"", "'"):  # JSON- or shell-escaped quotes
        quote = v[:2]
        end = len(v) - 2 if len(v) >= 4 and v.endswith(quote) else len(v)
        return quote, v[2:end], v[end:]
    body = v.lstrip("rRbBuUfF")
    if len(body) >= 2 and body[0] in "\"'`" and body[-1] == body[0]:
        return v[: len(v) - len(body)] + body[0], body[1:-1], body[0]
    if body[:1] in ("\"", "'") and "\n" not in body:  # unterminated: cut mid-value
        return v[: len(v) - len(body)] + body[0], body[1:], ""
    return None


def _reach(m: re.Match[str], tight: bool) -> int:
    """Where the mask of a bare value ends: past what is glued to it (``P@ss&word``) and, but
    for ``NAME=v`` (a shell's: ``PASSWORD=x ./run``), past its other words on the line
    (``password = correct horse``)."""
    end = m.end("v")
    glued = _re(_GLUED).match(m.string, end)
    end = glued.end() if glued else end
    more = None if tight else _re(_MORE).match(m.string, end)
    return more.end() if more else end


def _value_repl(m: re.Match[str], name: str, tight: bool, hashed: bool,
                reach: bool = False) -> tuple[str, int]:
    """The match with its value masked (a bare one to its ``_reach``), or as it is when the
    value is a reference, a literal or a name (``code_name``), a call, the start of an
    expression; and where what it replaces ends."""
    kept = m.group(0), m.end()
    v = m.group("v")
    label = _label(name)
    quoted = _quoted(v)
    if quoted is not None:
        prefix, inner, quote = quoted
        if (_is_reference(inner) or ("f" in prefix.lower() and "{" in inner) or "${" in inner
                or inner.startswith("«")):
            return kept
        head = m.group(0)[: m.start("v") - m.start(0)]
        return head + prefix + _mark(label, inner, hashed) + quote, m.end()
    if _is_reference(v) or v.lower() in _LITERALS or v.lower() == name.lower():
        return kept
    nxt = m.string[m.end("v"): m.end("v") + 1]
    if re.fullmatch(r"[A-Za-z_][\w.]*", v) and (nxt in ("(", "[") or nxt == "<" and _re(
            _GENERIC).match(m.string, m.end("v"))):
        return kept  # get_password(), os.environ["X"], Promise<string>
    if not tight:
        colon = m.group("op") == ":"
        code = not (colon and "-" in name or name.isupper() or config_line(m))
        if (re.fullmatch(r"[A-Za-z_]\w*(?:\.\w+)+", v) and dotted_code(m, name, v)
                or code_name(v, name, code, colon) or re.fullmatch(r"\*\w+|![A-Za-z]\w*", v)):
            return kept  # settings.API_KEY, TOKEN_ENV_VAR, YAML *alias and !tag
        if re.fullmatch(r"[A-Za-z_][A-Za-z_.]*", v) and _re(_EXPR).match(m.string, m.end("v")):
            return kept  # the start of an expression: password = a + b
    elif re.fullmatch(r"(?:self|this|cls|args|opts|options|config|settings|os)(?:\.\w+)+", v):
        return kept
    start, stop = m.start("v"), _reach(m, tight) if reach else m.end()
    return m.string[m.start(): start] + _mark(label, m.string[start:stop], hashed), stop


def _assign(m: re.Match[str], hashed: bool) -> tuple[str, int]:
    """An ``_ASSIGN`` match, its value masked when its name is a secret's; and where it ends."""
    name = m.group("name")
    if not secret_key(name):
        return m.group(0), m.end()
    tight = (m.group("op") == "=" and not m.group("sp1") and not m.group("sp2")
             and not m.group("ann"))
    return _value_repl(m, name, tight, hashed, reach=True)


def _assignments(value: str, hashed: bool, rescans: int = 256) -> str:
    """``_ASSIGN`` applied left to right; the quoted value of a name that is not a secret
    (``"preview": "db_password = \\"x\\""``) is searched again (at most ``rescans`` times,
    so the time stays linear)."""
    pattern, out, pos = _re(_ASSIGN), [], 0
    while True:
        m = pattern.search(value, pos)
        if m is None:
            out.append(value[pos:])
            return "".join(out)
        new, end = _assign(m, hashed)
        if (new == m.group(0) and rescans > 0 and _quoted(m.group("v"))
                and m.end("v") - m.start("v") > 4):
            rescans -= 1
            inner = m.start("v") + 1
            out.append(value[pos:inner])
            pos = inner
            continue
        out.append(value[pos:m.start()] + new)
        pos = max(end, pos + 1) if end == m.start() else end


def _flag_repl(hashed: bool) -> Callable[[re.Match[str]], str]:
    def repl(m: re.Match[str]) -> str:
        name = m.group("name")
        if not secret_key(name) or name.lower().startswith("no-"):
            return m.group(0)
        if m.group("sep") != "=" and m.group("v").startswith(("-", "=", ":")):
            return m.group(0)  # not a value: a diff line ``-NAME = value`` is an assignment
        return _value_repl(m, name, True, hashed)[0]
    return repl


def _aws_pairs(text: str, hashed: bool) -> str:
    """A 40-character base64 word within 400 characters of an AWS key id is its secret."""
    ids = [m.start() for m in _re(_AWS_ID).finditer(text)]
    if not ids:
        return text
    spans = []
    for pos in ids:
        lo = max(0, pos - 400)
        for m in _re(_B64_40).finditer(text, lo, min(len(text), pos + 420)):
            if not re.fullmatch(r"[0-9a-fA-F]{40}|[A-Za-z]{40}", m.group()):
                spans.append(m.span())
    for start, end in sorted(set(spans), reverse=True):
        text = text[:start] + _mark("AWS secret key", text[start:end], hashed) + text[end:]
    return text


def text(value: str, *, hashed: bool = False, known: Iterable[str] = (),
         extra: Iterable[re.Pattern[str]] | None = None) -> str:
    """``value`` with every likely secret masked (``hashed``: markers carry a hash).

    ``known``: literal secrets (6+ characters) to blank too; ``extra``: extra patterns
    (default: ``redact_patterns`` of config.toml)."""
    if not value:
        return value
    if not hashed and "sha256:" in value:
        value = _re(_HASHED).sub(r"«secret: \1»", value)
    for secret in sorted({s for s in known if s and len(s) >= 6}, key=len, reverse=True):
        value = value.replace(secret, _mark("known", secret, hashed) if hashed else "«secret»")
    for pattern in configured() if extra is None else extra:
        group = "secret" if "secret" in pattern.groupindex else 0
        value = pattern.sub(_masker(group, "custom pattern", hashed), value)
    low = value.lower()
    if "akia" in low or "asia" in low:
        value = _aws_pairs(value, hashed)
    for hints, label, source in _SPANS:
        if any(h in low for h in hints):
            pattern = _re(source, re.S)
            value = pattern.sub(_checked_masker(label, hashed), value)
    for label, pattern in platform_tokens():
        value = pattern.sub(_masker(0, label, hashed), value)
    if any(h in value for h in _TOKEN_HINTS) or value.count(".") >= 2:  # Discord
        value = _re(_TOKEN_RE).sub(
            lambda m: _span(m, 0, _TOKENS[int(str(m.lastgroup)[1:])][0], hashed), value)
    low = value.lower()
    if "-" in value and any(h in low for h in _NAME_HINTS):
        value = _re(_FLAG).sub(_flag_repl(hashed), value)
    if ("=" in value or ":" in value) and any(h in low for h in _NAME_HINTS):
        value = _assignments(value, hashed)
    return value


def chat(value: str) -> str:
    """Text about to be posted to a chat: masked, without hashes."""
    return text(value)


def _mask_all(obj: object, label: str, hashed: bool, depth: int) -> object:
    """Every string and number under a secret-named key, masked."""
    if isinstance(obj, (str, int, float)) and not isinstance(obj, bool):
        if isinstance(obj, str) and (_is_reference(obj) or obj.startswith("«")):
            return obj
        return _mark(label, str(obj), hashed)
    if depth > _MAX_DEPTH and isinstance(obj, (dict, list, tuple)):
        return "«nested too deep to show»"
    if isinstance(obj, dict):
        return {k: _mask_all(v, label, hashed, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_mask_all(v, label, hashed, depth + 1) for v in obj]
    return obj


def _pair_value(obj: Mapping[str, object]) -> str | None:
    """The value key of a ``{"name": "DB_PASSWORD", "value": ...}`` pair with a secret name."""
    for name_key in ("name", "key", "Name", "Key"):
        name = obj.get(name_key)
        if isinstance(name, str) and secret_key(name):
            for value_key in ("value", "Value", "val"):
                if value_key in obj:
                    return value_key
    return None


def value(obj: object, *, hashed: bool = False, _depth: int = 0) -> object:
    """A copy of a JSON-like ``obj`` (a tool input) with secrets masked in every string,
    everything under a secret-named key (or the value of a secret-named name/value pair),
    and a list of words judged as one command line (``["mysql", "--password", "x"]``)."""
    if isinstance(obj, str):
        return text(obj, hashed=hashed)
    if _depth > _MAX_DEPTH and isinstance(obj, (dict, list, tuple)):
        return "«nested too deep to show»"
    if isinstance(obj, dict):
        out = {}
        pair = _pair_value(obj)
        for k, v in obj.items():
            if isinstance(k, str) and (secret_key(k) or k == pair):
                out[k] = _mask_all(v, _label(str(obj.get("name", k)) if k == pair else k),
                                   hashed, _depth + 1)
            else:
                out[k] = value(v, hashed=hashed, _depth=_depth + 1)
        return out
    if isinstance(obj, (list, tuple)):
        if 2 <= len(obj) <= 256 and all(isinstance(v, str) and len(v) <= 4096 for v in obj):
            return _words(list(obj), hashed)
        return [value(v, hashed=hashed, _depth=_depth + 1) for v in obj]
    return obj


def _words(args: list[str], hashed: bool) -> list[str]:
    """A list of words masked as one command line: a word is a secret when the words before
    it make it one (``-u bob:x``, ``--password x``, ``set aws_secret_access_key x``)."""
    out = []
    for i, arg in enumerate(args):
        masked = text(arg, hashed=hashed)
        if masked == arg and i > 0 and arg.strip():
            before = " ".join(args[max(0, i - 4): i])
            judged = text(f"{before} {arg}", hashed=hashed)
            if not judged.endswith(" " + arg):
                masked = _mark("secret", arg, hashed)
        out.append(masked)
    return out


def argv(args: list[str]) -> list[str]:
    """A command line as it may be logged: option values of secret names masked too."""
    out = []
    for i, arg in enumerate(args):
        name = arg.split("=", 1)[0]
        if arg.startswith("-") and "=" in arg and secret_key(name.lstrip("-")):
            out.append(f"{name}=«secret»")
        elif (i > 0 and args[i - 1].startswith("-") and "=" not in args[i - 1]
              and secret_key(args[i - 1].lstrip("-"))):
            out.append("«secret»")
        else:
            out.append(text(arg))
    return [text(a) if MARK not in a else a for a in _words(out, False)]
