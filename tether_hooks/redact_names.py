"""Which names hold secrets, for ``redact``: a variable, key, flag or header name whose value
is a secret (``secret_name``, ``secret_key``), and whether a dotted value after such a name
is code (``settings.API_KEY``) or a secret that has dots (``hvs.CAES…``, ``s.xyz``).

A name is split into words (``_``, ``-``, ``.``, camelCase, digits). It names a secret when
it holds a *secret word* anywhere (``SECRET_KEY_BASE``, ``GITHUB_TOKEN_RO``, ``MY_TOKEN_VALUE``,
``STRIPE_KEY_LIVE``, ``xApiTokenProd``) and no word after the last one says the name is
*about* the secret (``TOKEN_COUNT``, ``password_field``, ``SECRET_ARN``: ``_META``), nor the
word just before makes it a count or a switch (``max_token``, ``HAS_PASSWORD``).

Secret words: password, passwd, passphrase, secret, token, credential(s), creds, apikey and
compounds ending so (``authtoken``, ``secretkey``); ``key`` after api/access/secret/private...
or in an upper-case name (``STRIPE_KEY``, ``KEY_LIVE``; not after public/primary); ``pwd``/
``pw`` after another word (``DB_PW``); ``pass`` after db/smtp/user...; ``cookie``;
``webhook url``; ``basic/http/proxy auth``. Stdlib only; imports nothing of ours but the
rule table."""

from __future__ import annotations

import re

from tether_hooks.redact_rules import (
    _CODE_OBJECTS,
    _ENDS,
    _KEY_BEFORE,
    _LAST,
    _LITERALS,
    _META,
    _NOT_BEFORE,
    _PARTS,
    _PASS_BEFORE,
    _SECRET_KEYS,
)

__all__ = ["code_name", "config_line", "dotted_code", "secret_key", "secret_name"]

_parts_re = re.compile(_PARTS)
# a line of its own: a diff mark, indentation, a YAML list dash or ``export`` before the name
_LINE_HEAD = re.compile(r"[-+]?[ \t]*(?:-[ \t]+)?(?:export[ \t]+)?")
# ... and a comment at most after it, and no closing bracket next (the last entry of an
# object literal: ``token: authToken\n}`` is code)
_LINE_TAIL = re.compile(r"[ \t]*(?:#[^\n]*)?(?:\r?\n(?![ \t]*[}\])])|\Z)")
_LETTERS = re.compile(r"[A-Za-z_]+")
# the words a name made of words must hold to be a name for a secret (``TOKEN_ENV_VAR``)
_WORDS = frozenset({"password", "passwords", "passwd", "passphrase", "pass", "pwd", "pw",
                    "secret", "secrets", "token", "tokens", "key", "keys", "apikey", "auth",
                    "credential", "credentials", "creds", "cred", "cookie", "sig", "signature"})
_MAX_INDENT = 80  # a YAML key further into its line is not judged as one
_MAX_WORD = 20  # letters of one word of an identifier; a longer run is not a word
_TYPE = re.compile(r"(?:[A-Z][a-z0-9]+)+")  # a class name: ``AuthType``, ``SecretStr``


_PLURALS = ("secret", "password", "passwd", "key", "credential", "passphrase")


def _secret_word(parts: list[str], i: int, upper: bool) -> bool:
    """Is ``parts[i]`` a secret word, judged with the word before it?"""
    word, prev = parts[i], (parts[i - 1] if i else "")
    if word[:-1] in _PLURALS and word.endswith("s"):
        word = word[:-1]  # a list of them: SECRETS, API_KEYS (not "tokens": mostly counts)
    if prev in _NOT_BEFORE:
        return False
    if word in _LAST or word.endswith(_ENDS):
        return True
    if word == "cookie":
        return i + 1 == len(parts)  # SESSION_COOKIE; not COOKIE_QUOTA
    if word in ("pwd", "pw"):
        return bool(prev)
    if word == "pass":
        return prev in _PASS_BEFORE
    if word == "key":
        if prev in _KEY_BEFORE:
            return True
        return upper and prev not in ("public", "primary") and bool(prev or i + 1 < len(parts))
    if word == "url":
        return prev == "webhook"
    return word == "auth" and prev in ("basic", "http", "proxy")


def secret_name(name: str) -> bool:
    """Is ``name`` (a variable, key, flag or header name) one whose value is a secret?"""
    if name.upper() in ("PWD", "OLDPWD"):
        return False
    parts = [p.lower() for p in _parts_re.findall(name)]
    while parts and parts[-1].isdigit():
        parts.pop()
    letters = name.replace("-", "_").replace(".", "_")
    upper = letters == letters.upper()
    for i in range(len(parts) - 1, -1, -1):
        if _secret_word(parts, i, upper):
            return not any(p in _META for p in parts[i + 1:])
    return False


def secret_key(name: str) -> bool:
    """A key, flag or parameter name whose value is a secret (``secret_name`` plus the bare
    words ``pass``, ``pwd``, ``auth``, ``cookie``, ``authorization``...)."""
    if name in ("PWD", "OLDPWD"):
        return False
    return name.lower().replace("_", "-") in _SECRET_KEYS or secret_name(name)


def _wordy(segment: str) -> bool:
    """Is ``segment`` an identifier made of words (``API_KEY``, ``getToken``, ``utf8``), not a
    random string (``CAESIJ3kq9Vx``, 24 lower-case letters)?"""
    parts = _parts_re.findall(segment)
    words = [p for p in parts if not p.isdigit()]
    if not words or len(parts) - len(words) > 2 or any(len(p) > _MAX_WORD for p in words):
        return False
    return len(parts) <= 2 or sum(map(len, words)) >= 3 * len(words)


def config_line(m: re.Match[str]) -> bool:
    """Is the ``_ASSIGN`` match ``m`` a line of its own (a YAML, .env or INI line: nothing but
    indentation, a list dash, a diff mark or ``export`` before it, a comment at most after,
    not the last entry of an object literal)?"""
    text, start = m.string, m.start()
    lo = max(0, start - _MAX_INDENT)  # look back a bounded way: linear time
    line = text.rfind("\n", lo, start) + 1 or (0 if lo == 0 else start + 1)
    return (line <= start and _LINE_HEAD.fullmatch(text, line, start) is not None
            and _LINE_TAIL.match(text, m.end("v")) is not None)


def code_name(value: str, name: str, code: bool, colon: bool) -> bool:
    """Is the bare value ``value`` after the secret name ``name`` the name of a variable, not
    a secret? Only letters and ``_`` (no digit: ``MyPassword123``, ``Summer2024secret``), and:

    * the name itself or its last dotted part (``api_key=api_key``, ``self.pw = pw``);
    * snake_case or UPPER_CASE with a ``_`` and a secret word (``TOKEN_ENV_VAR``,
      ``db_secret_name``, ``new_password = old_password``; not ``hunter_two``);
    * after ``=`` (not ``:``), the name's own words (``db_password = password``);
    * in ``code`` (not a line of its own, a header or an UPPER_CASE name), any identifier
      with a secret word among its words (``accessToken``, ``username, password = auth``;
      not ``supersecret``: one word is a word, not a name)."""
    if not _LETTERS.fullmatch(value):
        return False
    low, own = value.lower(), name.lower().replace("-", "_")
    if low in (own, own.rsplit(".", 1)[-1]):
        return True
    words = {p.lower() for p in _parts_re.findall(value)}
    if not words & _WORDS:
        return False
    if "_" in value and (value.islower() or value.isupper()):
        return True
    return code or (not colon and words <= {p.lower() for p in _parts_re.findall(name)})


def dotted_code(m: re.Match[str], name: str, value: str) -> bool:
    """Is the dotted value ``value`` after ``name`` in the ``_ASSIGN`` match ``m`` a code
    reference (``api_key = settings.API_KEY``, ``token: self.token``)? Never when a part is
    random (``token = hvs.CAESIJ3kq…``); in a header (``X-Vault-Token: s.xyz``) or a YAML
    line (``password: s.xyz``) only when it reads as code (``self.…``, ``….password``,
    ``t.AuthType``; not ``my.Password1``)."""
    segments = value.split(".")
    if not all(_wordy(s) for s in segments):
        return False
    first, last = segments[0].lstrip("_"), segments[-1]
    if (first.lower() in _CODE_OBJECTS or last.lower() in _LITERALS or _TYPE.fullmatch(last)
            and _LETTERS.fullmatch(last) or secret_key(last) and code_name(last, name, False,
                                                                            True)):
        return True
    if m.group("op") == ":" and "-" in name:
        return False  # a header (or a YAML key): ``X-Vault-Token: s.xyz``
    return not (m.group("op") == ":" and config_line(m))
