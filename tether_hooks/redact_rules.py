"""The rule table of ``redact``: token shapes, spans (group ``s`` is the secret), and the
name-based assignment and flag patterns. Every quantifier is bounded or possessive; imports
nothing of ours. Rules from elsewhere (config.toml's ``redact_patterns``, the platforms'
token shapes) come through ``redact_sources``."""

from __future__ import annotations

import re

__all__ = ["check_patterns"]

# (label, regex): whole match is the secret. Chat platforms declare their own token shapes
# (``BridgeBase.secret_patterns``, read through ``platforms.secret_patterns``).
_TOKENS = [
    ("Anthropic key", r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
    ("API key", r"\bsk-[A-Za-z0-9_-]{20,}"),
    ("GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{20,255}\b|\bgithub_pat_[A-Za-z0-9_]{20,255}"),
    ("GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}"),
    ("Slack token", r"\bxox[abposre]-[A-Za-z0-9-]{10,}|\bxapp-\d+-[A-Za-z0-9-]{10,}"),
    ("AWS access key id",
     r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b"),
    ("Google key",
     r"\bAIza[0-9A-Za-z_-]{35}|\bya29\.[0-9A-Za-z_-]{20,}|\bGOCSPX-[0-9A-Za-z_-]{20,}"),
    ("Stripe key", r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}|\bwhsec_[0-9A-Za-z]{20,}"),
    ("JWT", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
    ("Discord bot token",
     r"\b[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}\b"),
    ("npm token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("PyPI token", r"\bpypi-AgE[A-Za-z0-9_-]{50,}"),
    ("Hugging Face token", r"\bhf_[A-Za-z0-9]{30,}\b"),
    ("Vault token", r"\bhv[sbr]\.[A-Za-z0-9_-]{20,}"),
    ("DigitalOcean token", r"\bdo[opr]_v1_[0-9a-f]{64}\b"),
    ("SendGrid key", r"\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}\b"),
]
_TOKEN_HINTS = ("sk-", "gh", "github_pat_", "glpat-", "xox", "xapp-", "AKIA", "ASIA", "ABIA",
                "ACCA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "APKA", "AIza", "ya29.",
                "GOCSPX-", "_live_", "_test_", "whsec_", "eyJ", "npm_", "pypi-", "hf_", "hvs.",
                "hvb.", "hvr.", "_v1_", "SG.")
_TOKEN_RE = "|".join(f"(?P<t{i}>{source})" for i, (_, source) in enumerate(_TOKENS))

# (hints, label, regex): the group ``s`` is the secret
_SPANS = [
    (("private key",), "private key",
     r"-----BEGIN [A-Z0-9 ]{0,40}?PRIVATE KEY(?: BLOCK)?-----(?P<s>.*?)"
     r"(?:-----END [A-Z0-9 ]{0,40}-----|\Z)"),
    (("://",), "URL password",
     r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s/:@'\"<>]{0,128}:(?P<s>[^\s/@'\"<>]{1,256})@"),
    (("://",), "URL token", r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://(?P<s>[A-Za-z0-9_-]{20,256})@"),
    (("discord",), "Discord webhook",
     r"discord(?:app)?\.com/api/(?:v\d+/)?webhooks/\d+/(?P<s>[A-Za-z0-9_-]{10,})"),
    (("hooks.slack.com",), "Slack webhook",
     r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9]+/[A-Za-z0-9]+/"
     r"(?P<s>[A-Za-z0-9]{8,})"),
    (("authorization",), "authorization",
     r"(?i)\b(?:proxy-)?authorization[\"']?[ \t]{0,8}[:=][ \t]{0,8}(?:[fFbBrR]?[\"'])?"
     r"(?:(?:bearer|basic|token|bot|digest|negotiate|apikey|key)[ \t]+)?"
     r"(?P<s>[^\s\"'\\,;]{1,4096})"),
    (("cookie",), "cookie", r"(?i)\b(?:set-)?cookie[ \t]{0,8}:[ \t]{0,8}(?P<s>[^\n\"'\\]{1,4096})"),
    (("bearer",), "bearer token", r"(?i)\bbearer[ \t]+(?P<s>(?=[A-Za-z._~+/-]{0,200}\d)"
                                  r"[A-Za-z0-9._~+/-]{16,4096}=*)"),
    (("-u", "--user", "--proxy-user"), "password",
     r"(?<![\w-])(?:-u|--user|--proxy-user)(?:[ \t]+|=)?(?P<q>[\"']?)(?P<user>[^\s:\"']{1,128})"
     r":(?P<s>[^\s\"']{1,256})"),
    (("mysql", "mariadb"), "password",
     r"\b(?:mysql|mysqldump|mysqladmin|mysqlsh|mysqlimport|mysqlcheck|mariadb)\b[^\n|;&]{0,400}?"
     r"(?<=\s)-p(?P<s>'[^'\n]{1,256}'|\"[^\"\n]{1,256}\"|[^\s'\"]{1,256})"),
    (("sshpass",), "password", r"\bsshpass\b[^\n|;&]{0,200}?(?<=\s)-p[ \t]*(?P<s>[^\s]{1,256})"),
    (("login",), "password",
     r"\b(?:docker|podman|buildah|skopeo|helm|nerdctl|oras|crane)\b[^\n|;&]{0,200}?\blogin\b"
     r"[^\n|;&]{0,200}?(?<=\s)-p(?:[ \t]+|=)?[\"']?(?P<s>[^\s'\"]{1,256})"),
    (("stdin",), "password",  # echo X | docker login --password-stdin
     r"\b(?:echo|printf)[ \t]+(?:-n[ \t]+)?[\"']?(?P<s>[^\s'\"|$]{1,256})[\"']?[ \t]*\|"
     r"[^\n;&|]{0,200}?--(?:password|token|secret)[\w-]{0,16}-stdin"),
    (("redis-cli",), "password",
     r"\bredis-cli\b[^\n|;&]{0,200}?(?<=\s)-a[ \t]+[\"']?(?P<s>[^\s'\"]{1,256})"),
    (("pass:",), "password", r"(?<![\w-])pass:(?P<s>[^\s'\"]{1,256})"),
    (("set",), "secret",  # aws configure set NAME VALUE, npm/yarn/git config set NAME VALUE
     r"\bset[ \t]+(?P<name>[\w./:@-]{1,128})[ \t]+[\"']?(?P<s>[^\s'\"]{1,4096})"),
    (("-b", "--cookie"), "cookie",
     r"(?<![\w-])(?:-b|--cookie)(?:[ \t]+|=)[\"']?(?P<s>[^\s\"';=]{1,256}=[^\s\"']{1,4096})"),
    (("?", "&"), "URL secret",
     r"[?&](?P<name>[\w.-]{1,64})=(?P<s>[^&\s#'\"<>]{1,4096})"),
    (("value",), "secret",  # {"name": "DB_PASSWORD", "value": "x"}, k8s env entries
     r"(?P<q>\\?[\"']?)\bname(?P=q)[ \t]*[:=][ \t]*\\?[\"']?(?P<name>[\w.-]{1,64})\\?[\"']?"
     r"[ \t]*(?:,[ \t]*|\r?\n[ \t]{0,64})(?P<r>\\?[\"']?)value(?P=r)[ \t]*[:=][ \t]*\\?[\"']?"
     r"(?P<s>[^\n\"',}\\]{1,4096})"),
    (("</",), "secret", r"<(?P<name>[\w.:-]{1,64})(?:[ \t][^<>\n]{0,256})?>(?P<s>[^<\n]{1,4096})"
                        r"</(?P=name)>"),
    (("env",), "secret",
     r"(?m)^[ \t]{0,64}ENV[ \t]+(?P<name>[\w.-]{1,64})[ \t]+(?P<s>[^\n=]{1,4096})"),
    (("machine", "login"), "password",  # .netrc
     r"\b(?:machine|login|account)[ \t]+\S{1,256}\s{1,64}(?:(?:login|account)[ \t]+\S{1,256}"
     r"\s{1,64})?password[ \t]+(?P<s>\S{1,256})"),
    ((":",), "multi-word",  # YAML ``password: two words``
     r"(?m)^[ \t]{0,64}(?:-[ \t]+)?(?P<q>[\"']?)(?P<name>[\w.-]{1,64})(?P=q)[ \t]{0,8}:[ \t]+"
     r"(?P<s>[^\s#'\"\[{|>&*!%@`][^\n#]{0,4095}+)"),
]
_URL_KEYS = {"key", "sig", "code", "signature", "x-amz-credential", "auth"}

_VALUE = (r"(?P<v>\\\"(?:[^\"\\\n]|\\[^\"\n]){0,4096}+\\\"|\\'[^'\\\n]{0,4096}+\\'"
          r"|(?:[rRbBuUfF]{1,2})?\"(?:[^\"\\\n]|\\.){0,4096}+\""
          r"|(?:[rRbBuUfF]{1,2})?'[^'\n]{0,4096}+'"
          r"|`[^`\n]{0,4096}+`"
          r"|\\?[\"'][^\"'\n]{1,4096}+(?=\r?\n|\Z)"  # unterminated (cut) quoted value
          r"|(?:[^\s'\"`,;(){}\[\]<>|&«\\]|\\(?![\"'])){1,4096})")
# A value after a space never starts with "-", "=" or ":": ``--prod --token X`` is a switch,
# then a flag (a switch must not swallow the next flag as its value, hiding it).
_FLAG = (r"(?<![\w-])--?(?P<name>[A-Za-z][A-Za-z0-9_-]{0,63})(?P<sep>=|[ \t]+(?![-=:]))"
         r"(?P<v>\"(?:[^\"\\\n]|\\.){0,4096}\"|'[^'\n]{0,4096}'|[^\s'\"`;|&<>()]{1,4096})")
# A typed assignment is judged by its value, not its type (``password: str = "x"``, ``let
# token: &str = x``): ``ann``, a type between spaces before a lone ``=``.
_ASSIGN = (r"(?:(?<![\w.$«\\-])|(?<=(?<![^\n])[-+]))(?P<q>\\?[\"']|)"
           r"(?P<name>[A-Za-z_][\w.-]{0,63})(?P=q)"
           r"(?P<ann>[ \t]{0,8}:[ \t]{1,8}[A-Za-z_&*(\[][\w.&*'\[\]<>, |?]{0,96}?[ \t]{1,8}"
           r"(?==(?![=>~])))?(?P<sp1>[ \t]{0,8})"
           r"(?P<op>:=|=>|=(?![=>~])|:(?![:/=?+-]|\\(?![\"'])))(?P<sp2>[ \t]{0,8})" + _VALUE)
_NAME_HINTS = ("pass", "pwd", "pw", "secret", "token", "key", "credential", "creds", "auth",
               "webhook", "cookie", "bearer", "sig")

_PARTS = r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+"
_LAST = {"password", "passwd", "passphrase", "secret", "token", "apikey", "credentials",
         "credential", "creds"}
_ENDS = ("password", "passwd", "token", "secret", "apikey", "accesskey", "secretkey",
         "privatekey", "storepass", "keypass")
_KEY_BEFORE = {"api", "access", "secret", "private", "encryption", "signing", "sign", "master",
               "client", "auth", "app", "account", "service", "license", "session", "webhook",
               "hmac", "jwt", "crypt", "crypto", "cipher", "admin", "deploy", "secure", "sk"}
# Words after the last secret word that make a name about a secret, not one (``TOKEN_COUNT``,
# ``password_field``, ``SECRET_ARN``, ``secretKeyRef``); any other word after it still names
# a secret (``SECRET_KEY_BASE``, ``GITHUB_TOKEN_RO``, ``STRIPE_KEY_LIVE``).
_META = frozenset({"file", "files", "filename", "path", "paths", "dir", "dirs", "directory",
                   "folder", "location", "url", "uri", "urls", "endpoint", "host", "hostname",
                   "server", "port", "name", "names", "id", "ids", "type", "types", "kind",
                   "format", "fmt", "count", "counts", "cnt", "limit", "limits", "len", "length",
                   "size", "max", "min", "num", "number", "index", "idx", "ttl", "expiry",
                   "expires", "expiration", "expire", "exp", "expired", "lifetime", "timeout",
                   "interval", "age", "duration", "days", "hours", "minutes", "mins", "seconds",
                   "secs", "ms", "time", "timestamp", "at", "date", "created", "updated", "field",
                   "fields", "column", "col", "label", "header", "headers", "prefix", "suffix",
                   "hint", "prompt", "pattern", "regex", "re", "policy", "rule", "rules", "mode",
                   "enabled", "disabled", "enable", "disable", "required", "optional", "env",
                   "var", "vars", "variable", "ref", "refs", "reference", "arn", "source",
                   "provider", "manager", "mgr", "backend", "version", "versions", "rotation",
                   "rotate", "algorithm", "algo", "alg", "method", "scheme", "strategy",
                   "encoding", "charset", "scope", "scopes", "audience", "issuer", "usage", "used",
                   "budget", "cost", "price", "rate", "reset", "change", "validator", "validators",
                   "validation", "validate", "check", "strength", "complexity", "rounds",
                   "iterations", "error", "errors", "help",
                   "description", "desc", "placeholder", "widget", "form", "button",
                   "visible", "class", "cls", "fn", "func", "handler", "callback", "getter",
                   "setter", "factory", "builder", "parser", "generator", "loader", "reader",
                   "writer", "cache", "storage", "store", "jar", "permission", "permissions",
                   "role", "roles", "status", "state", "flag", "flags", "option", "options",
                   "config", "settings", "domain", "samesite", "httponly", "bits", "bytes",
                   "chars", "entropy", "start", "end", "begin", "level", "depth", "offset",
                   "position", "quota", "hasher", "hashers", "hashing", "binding", "bindings",
                   "map", "mapping", "layout", "event", "events", "up", "down"})
# Words just before a secret word that make the name a count or a switch (``max_token``,
# ``HAS_PASSWORD``); not ``with``/``use`` (``--with-token X``).
_NOT_BEFORE = frozenset({"max", "min", "num", "n", "total", "count", "is", "has", "enable",
                         "disable", "no"})
# The first part of a dotted value that is code, not a secret (``self.token``, ``os.environ``)
_CODE_OBJECTS = frozenset({"self", "this", "cls", "os", "sys", "process", "env", "environ",
                           "config", "cfg", "conf", "settings", "options", "opts", "args", "argv",
                           "params", "props", "request", "req", "ctx", "context", "app", "user",
                           "data", "secrets", "vars", "inputs", "values", "state", "window",
                           "document", "module", "exports", "import", "typing", "t", "pydantic",
                           "models", "fields", "types"})
_PASS_BEFORE = {"db", "user", "smtp", "mail", "admin", "root", "ftp", "redis", "mysql", "pg",
                "ldap", "proxy", "login", "sudo", "email", "database"}
_LITERALS = {"none", "null", "nil", "true", "false", "undefined", "yes", "no", "on", "off",
             "str", "string", "int", "bool", "boolean", "bytes", "any", "number", "object",
             "optional", "secretstr", "text", "float", "list", "dict", "char", "varchar",
             "required", "self", "this", "await", "new", "lambda", "function", "async"}
_REFERENCE = r"(?s)\$\{?\w*|\{\{.*\}\}|%\(\w+\)s|<[^<>]*>|\*{3,}|x{3,}|X{3,}|\.\.\.|…"
# after a bare value: an operator or keyword (``password = a + b``: an expression, not a
# secret); what a value cut short has glued to it (``P@ss&word``); its other words
_EXPR = (r"[ \t]+(?:[-+*/%|&^<>=!?:.@(\[~]|(?:if|else|or|and|not|in|is|as|instanceof|for"
         r"|of|with)\b)")
_GENERIC = r"<[A-Za-z_][\w., |\[\]<]{0,96}>"  # a generic type: Map<string, string>
_GLUED = r"[^\s,;)}\]\"'«]{1,4096}+"
_MORE = r"(?:[ \t]+(?![#«])[^\s«]{1,4096}+){1,64}+"
_AWS_ID = r"(?:AKIA|ASIA)[A-Z0-9]{16}"
_B64_40 = r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"


_SECRET_KEYS = {"authorization", "proxy-authorization", "cookie", "cookies", "set-cookie",
                "pass", "pwd", "pw", "passwd", "auth", "bearer", "x-api-key", "api-key",
                "private-key", "client-secret", "x-auth-token", "sig", "signature",
                "x-amz-signature", "x-amz-security-token", "x-amz-credential"}


def check_patterns(patterns: object, key: str = "redact_patterns") -> list[re.Pattern[str]]:
    """Compile ``redact_patterns``; ValueError (saying which and why) when one is unusable."""
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ValueError("give a list of regular expressions (strings)")
    out = []
    for source in patterns:
        try:
            pattern = re.compile(source)
        except re.error as exc:
            raise ValueError(f"{source!r} is not a regular expression: {exc}") from None
        if pattern.fullmatch(""):
            raise ValueError(f"{source!r} matches the empty text")
        out.append(pattern)
    return out
