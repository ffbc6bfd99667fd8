"""Three classes of secret leaks, each with many members and with controls that must stay
unmasked (so no test passes by masking everything):

1. a secret word anywhere in a name (``SECRET_KEY_BASE``, ``GITHUB_TOKEN_RO``), in every
   form (assignment, export, flag, header, JSON and YAML keys, structures);
2. dotted values after a secret name in header and YAML forms (``X-Vault-Token: hvs.…``,
   ``password: s.xyz``), while code references (``settings.API_KEY``) stay;
3. a secret cut by any cut (the store's cap, a settled copy, the audit window, a notice, a
   stranger's text): the kept part of it never shows;
4. a value after a secret name that looks like an identifier and holds a secret word
   (``POSTGRES_PASSWORD: MyPassword123``, ``API_SECRET: Summer2024secret``) is a secret, not
   a name: only real names stay (``token: TOKEN_ENV_VAR``, ``api_key=api_key``); a typed
   assignment is judged by its value (``password: str = "x"``)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tether_hooks import audit, bounds, lifecycle, redact
from tether_hooks.listener import access
from tether_hooks.platforms import telegram_render as render
from tether_hooks.platforms.base import Incoming, Notice

V = "q7Lm2Vx9Rt4Wb8Nc"  # a secret of no known shape: only its name can mask it

# -- 1. a secret word anywhere in the name ---------------------------------------------------

WORDS = [["token"], ["secret"], ["password"], ["passwd"], ["passphrase"], ["credentials"],
         ["api", "key"], ["secret", "key"], ["private", "key"], ["access", "token"],
         ["client", "secret"]]
BEFORE = [[], ["github"], ["my", "app"]]
AFTER = [[], ["ro"], ["base"], ["live"], ["value"], ["prod", "v2"]]
NAMES = [before + word + after for word in WORDS for before in BEFORE for after in AFTER]

STYLES: dict[str, Callable[[list[str]], str]] = {
    "UPPER_SNAKE": lambda p: "_".join(p).upper(),
    "lower_snake": lambda p: "_".join(p),
    "kebab-case": lambda p: "-".join(p),
    "dotted.name": lambda p: ".".join(p),
    "camelCase": lambda p: p[0] + "".join(w.capitalize() for w in p[1:]),
    "PascalCase": lambda p: "".join(w.capitalize() for w in p),
}
FORMS = {
    "NAME=v": f"{{n}}={V} ./run.sh",
    "export": f'export {{n}}="{V}"',
    "spaced": f"{{n}} = '{V}'",
    "json": f'{{{{"{{n}}": "{V}", "user": "bob"}}}}',
    "yaml": f"config:\n  {{n}}: {V}\n  user: bob",
    "flag": f"tool --{{n}} {V} --verbose",
    "flag=": f"tool --{{n}}={V}",
    "kwarg": f"connect(host='h', {{n}}='{V}')",
}


def _form_cases() -> list[tuple[str, str]]:
    cases = []
    for style in STYLES:
        for form in FORMS:
            if style == "dotted.name" and form.startswith(("flag", "kwarg", "export")):
                continue  # no such flag or variable
            cases.append((style, form))
    return cases


@pytest.mark.parametrize(("style", "form"), _form_cases())
def test_a_secret_word_anywhere_in_a_name_masks_the_value(style: str, form: str) -> None:
    leaked = []
    for parts in NAMES:
        source = FORMS[form].format(n=STYLES[style](parts))
        shown = redact.text(source)
        if V in shown or redact.MARK not in shown:
            leaked.append(shown)
    assert not leaked, f"{len(leaked)} of {len(NAMES)} leak: {leaked[:5]}"


@pytest.mark.parametrize("style", list(STYLES))
def test_a_secret_word_anywhere_in_a_key_masks_structures_and_headers(style: str) -> None:
    for parts in NAMES:
        name = STYLES[style](parts)
        shown = json.dumps(redact.value({"env": {name: V, "user": "bob"}}))
        assert V not in shown and '"user": "bob"' in shown, shown
        assert V not in audit.summarize_input("mcp__x__y", {name: V})
        header = "-".join(w.capitalize() for w in ["x", *parts])
        assert V not in redact.text(f'curl -H "{header}: {V}" https://h'), header


REPORTED = [  # the review's repros, and the same shapes with the secret word elsewhere
    "SECRET_KEY_BASE=9c1f0e4b7a2d8c3e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e bin/rails s",
    "GITHUB_TOKEN_RO=Zk3mP9qL2xR7vT4wB8nC6yH1jD5sF0gA ./sync.sh",
    f"MY_TOKEN_VALUE={V}", f"STRIPE_KEY_LIVE={V}", f"export KEY_LIVE={V}",
    f"MYAPP_SECRET_KEY_BASE={V}", f"DB_PW={V}", f"SESSION_COOKIE={V}",
    f"keytool -storepass {V} -list", f"xApiTokenProd = '{V}'", f"password-for-db: {V}",
    f"db.password.prod={V}", f'{{"apiTokenLive": "{V}"}}', f"TOKEN_GITHUB={V}",
]


@pytest.mark.parametrize("source", REPORTED)
def test_reported_names_are_masked(source: str) -> None:
    secret = V if V in source else source.split("=", 1)[1].split()[0]
    assert secret not in redact.text(source)


NOT_SECRET_NAMES = [  # a secret word, but a name *about* the secret: left alone
    "TOKEN_COUNT=5", "MAX_TOKENS=4096", "max_token = 4096", "token_limit: 100",
    "TOKEN_FILE=/run/secrets/t", "password_field = 'pw'", "SECRET_NAME=prod-db",
    "secretKeyRef: db", "token_type: bearer", "PASSWORD_MIN_LENGTH=12", "api_key_id: k1",
    "COOKIE_DOMAIN=example.com", "AUTH_TOKEN_TTL=3600", "HAS_PASSWORD=1", "is_secret = 0",
    "SECRET_ARN=arn:aws:secretsmanager:eu-west-1:1:secret:x", "JWT_SECRET_EXPIRES_IN=3600",
    "--password-file /run/secrets/db", "TOKEN_ENDPOINT=https://auth.example.com/token",
    "privateKeyPath: ~/.ssh/id_ed25519", "num_tokens = 12", "PASSWORD_POLICY=strict",
    "_COOKIE_QUOTA_TOTAL = 3000", "password_hasher: argon2", "token_budget: 10000",
    "max_new_tokens: 512", "  tokenCount: tokens.length,", "token.expiry=3600",
    "spring.datasource.password.file=/run/x", "GITHUB_TOKEN_PERMISSIONS: read",
    "          token: ${{ secrets.GITHUB_TOKEN }}", "secretName: db-credentials",
]


@pytest.mark.parametrize("source", NOT_SECRET_NAMES)
def test_names_about_a_secret_are_left_alone(source: str) -> None:
    assert redact.text(source) == source


def test_usage_and_limits_in_structures_are_left_alone() -> None:
    data = {"token_usage": 300, "max_output_tokens": 100, "input_tokens": 5,
            "secret_name": "prod-db", "password_required": True, "token_type": "bearer"}
    assert redact.value(data) == data


# -- 2. dotted values after a secret name: headers and YAML -----------------------------------

DOTTED = ["s.xyz", "s.q7lm2vx9rt4wb8nc", "v2.local.q7Lm2Vx9Rt4Wb8Nc", "abc.def",
          "my.dotted.value", "hvx.CAESIJ3kq9VxLm2P7wRtY8uZb", "AbC.dEf.GhI", "p4ss.w0rd.x",
          "prod.db.pw1", "q7Lm.2Vx9.Rt4W"]
HEADERS = ['curl -H "X-Vault-Token: {v}" https://vault:8200/v1/secret',
           "curl -H 'PRIVATE-TOKEN: {v}' https://gitlab", "GET / HTTP/1.1\r\nX-Auth-Token: {v}\r\n",
           'fetch(u, {{headers: {{"X-Api-Token": "{v}"}}}})', "X-Session-Secret: {v}"]
YAMLS = ["token: {v}", "vault:\n  token: {v}\n  addr: https://v", "- password: {v}",
         "db:\n  password: {v}  # prod", "api_key: {v}\nregion: eu", "secret_key_base: {v}",
         "  client-secret: {v}"]


@pytest.mark.parametrize("form", HEADERS + YAMLS)
def test_dotted_values_after_a_secret_name_are_masked(form: str) -> None:
    leaked = [shown for v in DOTTED if v in (shown := redact.text(form.format(v=v)))]
    assert not leaked, leaked


def test_the_reported_vault_header_is_masked_in_every_sink() -> None:
    token = "hvs.CAESIJ3kq9VxLm2P7wRtY8uZb4NcA6sDfGhJ"
    command = f'curl -H "X-Vault-Token: {token}" https://vault:8200/v1/secret/data/app'
    request = {"id": "7f3a", "tool_name": "Bash", "agent": "claude", "cwd": "/p",
               "session_id": "s", "tool_input": {"command": command}}
    shown = render.request_message(request).text + "".join(render.full_input(request))
    assert token[4:] not in shown and token[4:] not in audit.summarize_input("Bash",
                                                                             {"command": command})


CODE = [  # dotted code references after a secret name: left alone
    "api_key = settings.API_KEY", "token: self.token", "  password: user.password",
    "class C:\n    token: tokens.Token", "    secret: pydantic.SecretStr",
    "  apiKey: process.env.API_KEY,", "  token: config.token", '{"token": obj.token}',
    "password = s.xyz", "token = response.text", 'headers = {"X-Auth-Token": self.token}',
    "secret = os.environ.get", "stripe.api_key = config.stripe_key",
    "    auth: _t.AuthType", "quote_cookie=self._cookie_jar.quote_cookie,", "self.pw = pw",
    "username, password = auth", "  passwordConfirm: form.passwordConfirm,",
    "token=config.a.b", "foreign_key: user.id",
]


@pytest.mark.parametrize("source", CODE)
def test_dotted_code_after_a_secret_name_is_left_alone(source: str) -> None:
    assert redact.text(source) == source


# -- 3. a secret cut by any cut ---------------------------------------------------------------

SHAPES = {
    "GitHub": "ghp_Zq8Lm3Rv7Tx2Wb9Nc4Hy6Jd1Kf5Sg0Pa3Ue8",
    "GitHub fine-grained": "github_pat_11ABCDEFG0_q7Lm2Vx9Rt4Wb8NcQ7Lm2Vx9Rt4Wb8Nc",
    "Anthropic": "sk-ant-api03-aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV",
    "OpenAI": "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "GitLab": "glpat-abcdefghij0123456789",
    "Slack": "xoxb-2150000000000-2160000000000-aBcDeFgHiJkLmNoPqRsTuVwX",
    "Slack app": "xapp-1-A0123456789-1234567890123-abcdef0123456789",
    "AWS id": "AKIAIOSFODNN7EXAMPLE",
    "Google": "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "Google OAuth": "ya29.a0AfH6SMBx1234567890abcdefghijkl",
    "Google client": "GOCSPX-abcdefghijklmnopqrstuvwxyz12",
    "Stripe": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "Stripe webhook": "whsec_0123456789abcdefghijABCDEFGHIJ",
    "JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6y",
    "Discord": "MTA4NzY1NDMyMTA5ODc2NTQzMg.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB",
    "npm": "npm_abcdefghijklmnopqrstuvwxyz0123456789",
    "PyPI": "pypi-AgEIcHlwaS5vcmcCJGFiY2RlZmdoLWlqa2wtbW5vcC1xcnN0LXV2d3h5ejAx",
    "Hugging Face": "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
    "Vault": "hvs.CAESIJ3kq9VxLm2P7wRtY8uZb4NcA6sDfGhJ",
    "DigitalOcean": "dop_v1_" + "0123456789abcdef" * 4,
    "SendGrid": "SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "Telegram": "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    "URL password": "https://deploy:Pa55w0rdQ7Lm2Vx9@db.example.com",
    "named": f"GITHUB_TOKEN_RO={V}",
}
# the part of each that must never show (a context shape's secret is a part of it)
SECRET = {**SHAPES, "URL password": "Pa55w0rdQ7Lm2Vx9", "named": V}


def shows_part(secret: str, shown: str, size: int = 6) -> list[str]:
    """The pieces (``size`` characters) of ``secret`` that ``shown`` holds."""
    return [secret[i:i + size] for i in range(len(secret) - size + 1)
            if secret[i:i + size] in shown]


def straddling(secret: str, kept: int, cap: int) -> str:
    """A command cut at ``cap`` characters through ``secret``, ``kept`` characters in."""
    head = "echo " + "w" * (cap - kept - 6) + " "
    return head + secret + " --then " + "b" * 70_000


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_shape_whole_is_masked(name: str) -> None:
    assert not shows_part(SECRET[name], redact.text(f"echo {SHAPES[name]} done"))


OFFSETS = [(name, k) for name, s in SHAPES.items() for k in range(1, len(s))]


@pytest.mark.parametrize(("name", "kept"), OFFSETS)
def test_a_secret_cut_by_the_store_never_shows_its_kept_part(name: str, kept: int) -> None:
    secret = SECRET[name]
    command = straddling(SHAPES[name], kept, bounds.MAX_STRING)
    capped, cut = lifecycle.cap_input({"command": command})
    assert cut
    request = {"id": "7f3a", "tool_name": "Bash", "agent": "claude", "cwd": "/p",
               "session_id": "s", "tool_input": capped, "input_truncated": True,
               "input_missing": lifecycle.missing_chars({"command": command}, capped)}
    shown = (json.dumps(redact.value(capped)) + render.request_message(request).text
             + "".join(render.full_input(request)))
    assert not shows_part(secret, shown), shows_part(secret, shown)[:3]
    settled, _ = lifecycle.cap_input(capped, lifecycle.SETTLED_INPUT_LIMIT, 256)
    assert not shows_part(secret, redact.text(str(settled)))


@pytest.mark.parametrize("name", list(SHAPES))
def test_a_secret_cut_by_a_settled_copy_or_a_record_never_shows(name: str) -> None:
    secret = SECRET[name]
    for kept in range(1, len(SHAPES[name])):
        text = straddling(SHAPES[name], kept, 256)[:400]
        settled, _ = lifecycle.cap_input({"command": text * 20}, lifecycle.SETTLED_INPUT_LIMIT,
                                         256)
        record, _ = bounds.bounded({"reason": text}, chars=256)
        for copy in (settled, record):
            assert not shows_part(secret, redact.text(json.dumps(copy))), (kept, copy)


@pytest.mark.parametrize("name", list(SHAPES))
def test_a_secret_cut_by_the_audit_window_never_shows(name: str) -> None:
    secret = SECRET[name]
    for kept in range(1, len(SHAPES[name])):
        # blanks fold away, so the cut word would be the summary's second word
        command = "echo" + " " * (8192 - 4 - kept) + SHAPES[name] + "/" + "z" * 9000
        summary = audit.summarize_input("Bash", {"command": command})
        assert not shows_part(secret, summary), (kept, summary)


@pytest.mark.parametrize("name", list(SHAPES))
def test_a_secret_cut_in_a_notice_or_a_strangers_text_never_shows(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tether_hooks import hook, relay

    secret, whole = SECRET[name], SHAPES[name]
    sent: list[dict] = []
    monkeypatch.setattr(relay, "reach", lambda message, timeout: sent.append(message))
    for kept in range(1, len(whole)):
        text = "Done." + " " * (8000 - 5 - kept) + whole + " and more"
        hook._notice({"session_id": "s", "agent": "claude", "cwd": "/p"}, "waiting", text)
        shown = "".join(render.notice_messages(Notice("waiting", sent[-1]["text"])))
        assert not shows_part(secret, shown), (kept, shown[-80:])
        said = " " * (1024 - kept) + whole
        entry = access.unauthorized(Incoming(bridge="telegram", kind="text", data=said,
                                             user_id="1", user_name="eve", chat_id="1"))
        assert not shows_part(secret, json.dumps(entry)), (kept, entry["data"])


@pytest.mark.parametrize(("text", "chars", "kept"), [
    ("abc def", 5, "abc "), ("abc def", 4, "abc "), ("abc def", 3, "abc"), ("abc", 2, ""),
    ("a=ghp_x y", 6, ""), ('k("tok")', 5, 'k("'), ("x\ny", 2, "x\n"), ("", 0, ""),
    ("x,yz", 3, "x,"), ("short", 99, "short"),
])
def test_cuts_keep_whole_words(text: str, chars: int, kept: str) -> None:
    assert bounds.keep(text, chars) == kept and bounds.cut_at(text, chars) == len(kept)


def test_a_cut_counts_what_it_leaves_out_twice() -> None:
    once = bounds.cut_text("alpha beta gamma", 8)
    assert once == "alpha \n… [10 more characters]"
    assert bounds.cut_text(once, 3) == "\n… [16 more characters]"
    assert bounds.cut_text("x" * 50, 10) == "\n… [50 more characters]"  # one word: left out


def test_an_error_cut_short_never_shows_part_of_the_bot_token() -> None:
    from tether_hooks.platforms.telegram_errors import short_reason

    token = SHAPES["Telegram"]
    for kept in range(1, len(token)):
        url = " " * (160 - 29 - kept) + f"https://api.telegram.org/bot{token}/getUpdates"
        shown = short_reason(RuntimeError(f"timed out {url}"))
        assert not shows_part(token, shown), (kept, shown)


# -- 4. a value that holds a secret word is not a name for being one word --------------------

# values that are never names: digits, punctuation, or a single word (``mysecret``)
NOT_NAMES = ["MyPassword123", "Summer2024secret", "hunter2supersecret", "Passw0rdSecret",
             "ChangeMe_Secret1", "Token2024", "myApiKey9", "s3cretToken", "TopSecret_2",
             "letmein_Token1", "SECRET_2024", "password1", "Tr0ub4dor&3", "P@ssword&more",
             "Pa55-word!Secret", "key_9f8e7d6c", "mysecret", "supersecret", "mypassword",
             "secretpassword"]
# letters only, camel or one word: a name in code, a secret on a line of its own
WORDY = ["SuperSecret", "MyPassword", "secret", "TopSecretToken", "superSecret",
         "ChangeMeSecret", "auth", "passwd", "AdminPassword", "tokenValue"]
CONFIG_LINES = {  # a line of its own, an UPPER_CASE name, a header: a value is a value
    "compose": "services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: {v}\n"
               "      POSTGRES_USER: app\n",
    "compose secret": "    environment:\n      API_SECRET: {v}\n",
    "compose list": "    environment:\n      - DB_PASS={v}\n",
    "k8s": "kind: Secret\nstringData:\n  token: {v}\n  user: app\n",
    "yaml list": "users:\n  - password: {v}\n    name: bob\n",
    "yaml comment": "vault:\n  secret_key: {v}  # rotated monthly\n",
    "yaml dashed key": "oauth:\n  client-secret: {v}\n",
    ".env": "DEBUG=1\nDB_PASS={v}\nPORT=80\n",
    "export": "export API_SECRET={v}",
    "ini": "[database]\npassword = {v}\nuser = app\n",
    "properties": "spring.datasource.password = {v}\n",
    "diff": "@@ -1 +1 @@\n-  token: old\n+  token: {v}\n",
    "flow upper": "environment: {{POSTGRES_PASSWORD: {v}, POSTGRES_USER: app}}",
    "header": 'curl -H "X-Api-Key: {v}" https://api.example.com',
    "header line": "GET / HTTP/1.1\r\nX-Auth-Token: {v}\r\n",
}
CODE_LINES = {  # code around it: a name stays, but not these
    "js const": "const password = {v};",
    "js object": "connect({{ password: {v}, user: 'bob' }})",
    "kwarg spaced": "db = connect(host, password = {v}, user='bob')",
    "go": "token := {v}",
    "php arrow": "['password' => {v}, 'user' => 'bob']",
    "typed": "password: str = {v}",
    "ts typed": "let apiKey: string = {v};",
    "dotted name": "self.secret = {v}",
}
TYPED = [  # a typed assignment: the value is judged, not the type
    'password: str = "{v}"', '    db_password: str = "{v}"', 'const token: string = "{v}";',
    'def login(api_key: str = "{v}") -> None:', 'val password: String = "{v}"',
    'let token: &str = "{v}";', 'password: Optional[str] = "{v}"',
    "secret_key: str = '{v}'", "token: str | None = {v}",
]


def _leaks(form: str, values: list[str]) -> list[str]:
    """The texts in which a value shows: each must come out as a random secret's does."""
    masked = redact.text(form.format(v=V))
    assert V not in masked and redact.MARK in masked, masked
    return [shown for v in values if (shown := redact.text(form.format(v=v))) != masked]


@pytest.mark.parametrize("form", list(CONFIG_LINES))
def test_a_value_on_a_line_of_its_own_is_masked_though_it_holds_a_secret_word(form: str) -> None:
    leaked = _leaks(CONFIG_LINES[form], NOT_NAMES + WORDY)
    assert not leaked, leaked


@pytest.mark.parametrize("form", list(CODE_LINES))
def test_a_value_in_code_is_masked_unless_it_is_a_name(form: str) -> None:
    leaked = _leaks(CODE_LINES[form], NOT_NAMES)
    assert not leaked, leaked


@pytest.mark.parametrize("form", TYPED)
def test_a_typed_assignment_is_judged_by_its_value(form: str) -> None:
    leaked = _leaks(form, NOT_NAMES + WORDY)
    assert not leaked, leaked


@pytest.mark.parametrize(("source", "secret"), [
    ("password: P@ss&word", "&word"), ("password: abc<def", "<def"),
    ("token: Tr0ub4dor|3", "|3"), ("password = correct horse battery", "horse battery"),
    ("api_secret = hunter two # old", "two"), ("token: P@ss(w0rd)", "w0rd"),
    ("DB_PASSWORD=P@ss&word", "&word"), ("{ token: Zq8&Lm3, user }", "&Lm3"),
])
def test_what_is_glued_to_a_masked_value_is_masked_with_it(source: str, secret: str) -> None:
    shown = redact.text(source)
    assert secret not in shown and redact.MARK in shown, shown


NAMES_IN_CODE = [  # names, calls, references and expressions after a secret name: left alone
    "password = get_password()", "token: TOKEN_ENV_VAR", "api_key=api_key",
    "secret_name: db_secret_name", "password: self.password", "token=${TOKEN}",
    "token: GITHUB_TOKEN", "  password: ADMIN_PASSWORD", "new_password = old_password",
    "    db_password = password", "self.token = token", "password: password", "token: Token",
    "  token: accessToken,", "{ token: accessToken, user }", "const c = {\n  token: authToken\n};",
    "const token = refreshToken;", "  secret: clientSecret,", "password: hashedPassword,",
    "function f(token: AccessToken) {", "interface A { token: AccessToken; }",
    "  apiKey: Promise<string>;", "const token: Map<string, string> = {}",
    "username, password = auth", "password = a + b", "token = x if y else z",
    "token = prefix + suffix", "password: str = settings.password",
    "password: Optional[str] = None", "def login(password: str = None):",
    "password: str | None = None", "password: !vault |", "Password: !Ref DBPassword",
    "password: *db_password", "  api_key: API_KEY", "secret = os.environ.get('SECRET')",
    "password = getpass.getpass()", "token = tokens[0]", "token = jwt.encode(payload, key)",
    "password = hashlib.sha256(pw).hexdigest()", "  password: user.password",
    "token: ${{ secrets.GITHUB_TOKEN }}", "password: ${DB_PASSWORD:-}", "secret: _secret,",
    "TOKEN = _TOKEN_DEFAULT", "pw = self._password",
]


@pytest.mark.parametrize("source", NAMES_IN_CODE)
def test_a_name_after_a_secret_name_stays_readable(source: str) -> None:
    assert redact.text(source) == source
    assert redact.text(source, hashed=True) == source


def test_the_reported_compose_file_is_masked_in_every_sink() -> None:
    compose = ("services:\n  db:\n    image: postgres\n    environment:\n"
               "      POSTGRES_PASSWORD: MyPassword123\n      API_SECRET: Summer2024secret\n"
               "      POSTGRES_USER: app\n")
    secrets = ["MyPassword123", "Summer2024secret"]
    request = {"id": "7f3a", "tool_name": "Write", "agent": "claude", "cwd": "/p",
               "session_id": "s", "tool_input": {"file_path": "/p/docker-compose.yml",
                                                 "content": compose}}
    shown = (render.request_message(request).text + "".join(render.full_input(request))
             + json.dumps(redact.value(request["tool_input"])))
    assert not [s for s in secrets if s in shown] and "POSTGRES_USER: app" in shown
    for tool, tool_input in (("mcp__fs__write", {"name": "compose.yml", "text": compose}),
                             ("Bash", {"command": f"cat > compose.yml <<'EOF'\n{compose}EOF"})):
        summary = audit.summarize_input(tool, tool_input)
        assert not [s for s in secrets if s in summary], summary
        assert summary.count("sha256:") == 2 and "image: postgres" in summary, summary
