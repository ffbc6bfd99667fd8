"""Secrets are masked before text leaves the machine (``tether_hooks.redact``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tether_hooks import audit, config, redact
from tether_hooks.errors import ConfigError
from tether_hooks.platforms import telegram_render as render
from tether_hooks.platforms.base import Notice

GH = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ"
       ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
PEM_BODY = "MIIEowIBAAKCAQEA7bq1xYzsecretkeymaterial0123456789abcdefABCDEF\nQ2xvc2VkIGJvZHk="
P = "Sup3rS3cretPassw0rd"
SLACK = "xoxb-2150000000000-2160000000000-aBcDeFgHiJkLmNoPqRsTuVwX"

# (text, the secret that must not survive)
SECRETS = [
    ("export OPENAI_KEY_X=1; curl -d k=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
     "sk-proj-Ab3dEf6h"),
    ("ANTHROPIC=sk-ant-api03-aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV-wXyZ_12345", "aB1cD2eF3gH4iJ5k"),
    ("openai.api_key = 'sk-0123456789abcdefghijABCDEFGHIJ0123456789abcd'", "0123456789abcdefghij"),
    (f"git clone https://{GH}@github.com/o/r.git", GH),
    (f"echo {GH} | gh auth login --with-token", GH),
    ("gho_0123456789abcdefghijABCDEFGHIJ012345 is mine", "gho_0123456789abcdefghij"),
    ("ghu_0123456789abcdefghijABCDEFGHIJ012345", "0123456789abcdefghijABCD"),
    ("token ghs_0123456789abcdefghijABCDEFGHIJ012345", "ghs_0123456789abcdefghij"),
    ("ghr_0123456789abcdefghijABCDEFGHIJ012345", "ghr_0123456789abcdefghij"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS",
     "11ABCDEFG0123456789_abcdef"),
    (f"curl -d token={SLACK} https://slack.com/api/chat.postMessage", SLACK[5:]),
    ("xoxp-1234567890-1234567890-abcdefABCDEF", "1234567890-1234567890-abcdef"),
    ("SLACK_APP=xapp-1-A0123456789-1234567890123-abcdef0123456789", "A0123456789-1234567890123"),
    ("xoxa-2-abcdef0123456789", "abcdef0123456789"),
    ("xoxr-0123456789-abcdefghij", "abcdefghij"),
    (f"export AWS_ACCESS_KEY_ID={AWS_ID}\nexport AWS_SECRET_ACCESS_KEY={AWS_KEY}", AWS_KEY),
    (f"export AWS_ACCESS_KEY_ID={AWS_ID}", AWS_ID),
    (f"aws_secret_access_key = {AWS_KEY}", AWS_KEY),
    (f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key={AWS_KEY}\n", AWS_KEY),
    (f"aws configure set creds {AWS_ID} {AWS_KEY}", AWS_KEY),
    (f'{{"AccessKeyId": "ASIAY34FZKBOKMUTVV7A", "SecretAccessKey": "{AWS_KEY}"}}', AWS_KEY),
    ("ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"),
    ("https://maps.googleapis.com/x?key=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "SyA1b2C3d4E5"),
    ("Authorization: Bearer ya29.a0AfH6SMBx1234567890abcdefghijkl", "a0AfH6SMBx1234567890"),
    ("client GOCSPX-abcdefghijklmnopqrstuvwxyz12", "abcdefghijklmnopqrstuvwxyz12"),
    ("stripe.api_key = sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc"),
    ("STRIPE=rk_live_51HabcdefGHIJKLMNOP", "51HabcdefGHIJKLMNOP"),
    ("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc"),
    ("whsec_0123456789abcdefghijABCDEFGHIJ", "0123456789abcdefghij"),
    ("curl https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe",
     "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"),
    ("TG=7000000001:AAHtether-hooks_emulator-token-0123", "AAHtether-hooks_emulator"),
    ("bot.run('MTA4NzY1NDMyMTA5ODc2NTQzMg.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB')",
     "abcdefghijklmnopqrstuvwxyz0123456789AB"),
    ("curl -X POST https://discord.com/api/webhooks/123456789012345678/"
     "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdefghijklmnopqrstuv", "AbCdEfGhIjKlMnOpQrSt"),
    ("https://discordapp.com/api/v10/webhooks/1/abcdefghijklmnopqrstuvwx",
     "abcdefghijklmnopqrstuvwx"),
    ("post https://hooks.slack.com/services/T00000000/B00000000/XXXXabcdXXXXabcdXXXXabcd",
     "XXXXabcdXXXXabcdXXXXabcd"),
    (f"curl -H 'Authorization: Bearer {JWT}' https://api", JWT.split(".")[2]),
    (f"token is {JWT}", JWT.split(".")[1]),
    ('curl -H "Authorization: Basic dXNlcjpodW50ZXIy" https://h', "dXNlcjpodW50ZXIy"),
    ("headers = {'Authorization': 'token abcdef0123456789abcdef'}", "abcdef0123456789abcdef"),
    ('Proxy-Authorization: Digest deadbeefcafebabe', "deadbeefcafebabe"),
    ("curl -H 'Cookie: session=9f8e7d6c5b4a39281706' https://h", "9f8e7d6c5b4a39281706"),
    ("requests.get(u, headers={'Bearer': 1}) # Bearer 0a1b2c3d4e5f6a7b8c9d0e1f",
     "0a1b2c3d4e5f6a7b8c"),
    ("curl -u admin:hunter2pass https://h/api", "hunter2pass"),
    ("curl --user 'deploy:S3cr3t!x' https://h", "S3cr3t!x"),
    ("-----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY + "\n-----END RSA PRIVATE KEY-----",
     "secretkeymaterial"),
    ("cat > id <<'EOF'\n-----BEGIN OPENSSH PRIVATE KEY-----\n" + PEM_BODY
     + "\n-----END OPENSSH PRIVATE KEY-----\nEOF", "Q2xvc2VkIGJvZHk="),
    ("-----BEGIN PRIVATE KEY-----\n" + PEM_BODY, "secretkeymaterial"),  # cut: masked to the end
    ('{"private_key": "-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEEIabcdefSECRETBODY\\n'
     '-----END EC PRIVATE KEY-----\\n"}', "abcdefSECRETBODY"),
    ("-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF0PGPSECRET\n-----END PGP PRIVATE KEY BLOCK-----",
     "PGPSECRET"),
    ("PASSWORD=hunter2 ./deploy.sh", "hunter2"),
    ("export DB_PASSWORD='correct horse battery'", "correct horse"),
    ("MYSQL_ROOT_PASSWORD=r00tpw docker compose up", "r00tpw"),
    ("docker run -e POSTGRES_PASSWORD=pgsecret42 postgres", "pgsecret42"),
    ("PGPASSWORD=supersecret psql -h db", "supersecret"),
    ("passwd=letmein123", "letmein123"),
    ("DB_PWD=qwerty789", "qwerty789"),
    ("SMTP_PASS=mailpass99", "mailpass99"),
    ("export GITHUB_TOKEN=notashapedtoken123", "notashapedtoken123"),
    ("TOKEN=abc123def456", "abc123def456"),
    ("SECRET=my_secret", "my_secret"),
    ("SECRET_KEY=django-insecure-0123456789", "django-insecure-0123456789"),
    ("API_KEY=k-1234567890", "k-1234567890"),
    ("APIKEY=zzz999yyy888", "zzz999yyy888"),
    ("const apiKey = 'abcd-efgh-1234';", "abcd-efgh-1234"),
    ("ACCESS_KEY=AK12345xyz", "AK12345xyz"),
    ("PRIVATE_KEY=0xdeadbeef00112233", "0xdeadbeef00112233"),
    ("CLIENT_SECRET=cs-000111222", "cs-000111222"),
    ("client_secret: 'oauth-client-secret-value'", "oauth-client-secret-value"),
    ("STRIPE_KEY=abcdefghij0987", "abcdefghij0987"),
    ('{"password": "p@ssw0rd!", "user": "bob"}', "p@ssw0rd!"),
    ('{"api_key":"A-B-C-123"}', "A-B-C-123"),
    ("database:\n  password: yamlpass123\n  user: app", "yamlpass123"),
    ('[db]\npassword = "tomlpass456"', "tomlpass456"),
    ("db.password=propfilepass", "propfilepass"),
    ("mytool --password hunter3 --user bob", "hunter3"),
    ("mytool --password=hunter4", "hunter4"),
    ("mytool --token 'tok en 5'", "tok en 5"),
    ("gh api --api-key abc-777-xyz", "abc-777-xyz"),
    ("vault login --client-secret=vs-8888", "vs-8888"),
    ("mysql -u root -pS3cretPw db", "S3cretPw"),
    ("mysqldump -h db -u app -p'quoted pw' shop", "quoted pw"),
    ("sshpass -p sshsecret1 ssh host", "sshsecret1"),
    ("psql postgres://app:pgpass777@db:5432/shop", "pgpass777"),
    ("redis-cli -u redis://:redispass1@cache:6379", "redispass1"),
    ("https://user:pa55word@example.com/x", "pa55word"),
    ("DATABASE_URL=mysql://root:mysqlpw1@localhost/app", "mysqlpw1"),
    ("https://x-access-token:tok_abcdef123456@github.com/o/r", "tok_abcdef123456"),
    ("curl 'https://api.example.com/v1?api_key=qs-secret-42&limit=5'", "qs-secret-42"),
    ("curl 'https://h/cb?access_token=at-0987654321'", "at-0987654321"),
    ("npm config set //registry/:_authToken npm_abcdefghijklmnopqrstuvwxyz0123456789",
     "abcdefghijklmnopqrstuvwxyz0123456789"),
    ("twine upload -p pypi-AgEIcHlwaS5vcmcCJGFiY2RlZmdoLWlqa2wtbW5vcC1xcnN0LXV2d3h5ejAxMjM0NTY3",
     "AgEIcHlwaS5vcmcCJGFiY2RlZmdo"),
    ("HF=hf_abcdefghijklmnopqrstuvwxyzABCDEFGH", "abcdefghijklmnopqrstuvwxyzABCDEFGH"),
    ("glpat-abcdefghij0123456789", "abcdefghij0123456789"),
    ("OPENAI_API_KEY=sk-abcdefghijklmnopqrstuvwxyz0123", "abcdefghijklmnopqrst"),
    ("$env:API_TOKEN = 'ps-token-123'", "ps-token-123"),
    ("set -x; export AUTH_TOKEN=\"at-quoted-456\"", "at-quoted-456"),
    ("login(user='a', password='kwarg-secret')", "kwarg-secret"),
    # escaped quotes (JSON inside a shell string, a serialised input)
    (f'curl -d "{{\\"password\\": \\"{P}\\"}}" https://x/login', P),
    (f'echo "{{\\"api_key\\":\\"{P}\\"}}"', P),
    (json.dumps({"preview": f'db_password = "{P}"'}), P),
    (f"echo '{{\\'token\\': \\'{P}\\'}}'", P),
    # diff lines judged as their content
    (f'-DB_PASSWORD = "{P}"', P),
    (f'context\n+api_token = "{P}"\n-x = 1', P),
    (f"-SECRET_KEY={P}", P),
    # a value cut mid-way (the store's cut)
    ('db_password = "Sup3rS3cret', "Sup3rS3cret"),
    ("api_key: 'Sup3rS3cretPass\nmore", "Sup3rS3cretPass"),
    # positional secrets, bare names, cookies, URL parameters
    (f"aws configure set aws_secret_access_key {P}", P),
    (f"npm config set //registry.npmjs.org/:_authToken {P}", P),
    (f"docker login -u bob -p {P} registry.io", P),
    (f"redis-cli -h db -a {P} ping", P),
    (f"echo {P} | docker login --password-stdin", P),
    (f"openssl enc -aes256 -pass pass:{P} -in f", P),
    (f"tool --pass {P}", P),
    (f"PASS={P} ./run", P),
    (f"PW={P} ./run", P),
    (f"curl -b 'sid={P}' https://x", P),
    (f"curl --cookie session={P} https://x", P),
    (f"https://s3.amazonaws.com/b/o?X-Amz-Signature={P}&x=1", P),
    (f"https://api.x.com/v1?key={P}", P),
    (f"https://api.x.com/v1?a=1&access_token={P}", P),
    # config syntaxes
    ("password: correct horse battery staple", "correct horse battery"),
    (f"env:\n  - name: DB_PASSWORD\n    value: {P}", P),
    (f'{{"name": "API_TOKEN", "value": "{P}"}}', P),
    (f"<password>{P}</password>", P),
    (f'"password" => "{P}"', P),
    (f"ENV DB_PASSWORD {P}", P),
    (f"machine api.x.com login bob password {P}", P),
    (f"machine api.x.com\n  login bob\n  password {P}", P),
    # a value holding a secret word is not a name for it (review A9)
    ("services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: MyPassword123\n",
     "MyPassword123"),
    ("      API_SECRET: Summer2024secret\n", "Summer2024secret"),
    ("token: hunter2supersecret", "hunter2supersecret"),
    ("DB_PASS=Passw0rdSecret", "Passw0rdSecret"),
    ("POSTGRES_PASSWORD: secret\nPOSTGRES_USER: app", ": secret\n"),
    ('password: str = "ChangeMe_Secret1"', "ChangeMe_Secret1"),
]

# (text): must come out unchanged
PLAIN = [
    'password_field = form.get("x")',
    "password = request.form['password']",
    "token = get_token()",
    "secret = os.environ['SECRET']",
    "api_key = settings.API_KEY",
    "def login(password: str) -> bool:",
    "token: str",
    "password: Optional[str] = None",
    "max_tokens = 4096",
    "tokenizer = AutoTokenizer.from_pretrained('bert-base-uncased')",
    "token_count = len(tokens)",
    "password = None",
    "Please enter your password in the form.",
    "The bearer of this letter is a friend.",
    "Use a bearer token in the Authorization header.",
    "PWD=/home/user/project ls",
    "export PATH=/usr/local/bin:$PATH",
    "PASSWORD=$DB_PASSWORD ./run.sh",
    'export TOKEN="${GITHUB_TOKEN}"',
    "git log --oneline -5 && git show 3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
    "docker run -p 8080:80 -u 1000:1000 nginx",
    "mkdir -p build && cp -p a b",
    "ssh -p 2222 user@host",
    "https://example.com:8443/path?q=1",
    "rm -rf build/ && npm run test -- --watch=false",
    "primary_key = 'id'",
    "new_password = old_password",
    "ls -la ~/.ssh/id_ed25519.pub",
    "password: \"${DB_PASSWORD}\"",
    "if token is None: raise ValueError('no token')",
    "echo $SECRET | wc -c",
    "--password-file /run/secrets/db",
    "sk-learn is not a package name",
    "The task ids are 12345 and 67890.",
    "time 12:30:45, see issue #4123",
    "git checkout -b feature/login",
    "https://example.com/search?q=token&page=2",
    "description: the token used to sign requests (see docs)",
    "set -euo pipefail",
    "<name>password reset</name>",
    "-    return password_hash(user)",
    "token: TOKEN_ENV_VAR",
    "secret_name: db_secret_name",
    "  token: accessToken,",
    "api_key=api_key",
]


@pytest.mark.parametrize(("source", "secret"), SECRETS)
def test_secrets_are_masked(source: str, secret: str) -> None:
    shown = redact.text(source)
    assert secret not in shown and redact.MARK in shown, shown
    hashed = redact.text(source, hashed=True)
    assert secret not in hashed and re.search(r"sha256:[0-9a-f]{12}»", hashed), hashed


@pytest.mark.parametrize("source", PLAIN)
def test_ordinary_text_and_code_are_left_alone(source: str) -> None:
    assert redact.text(source) == source


def test_the_tables_are_large_enough() -> None:
    assert len(SECRETS) >= 60 and len(PLAIN) >= 20


def test_masking_is_idempotent_and_chat_text_drops_hashes() -> None:
    once = redact.text(SECRETS[3][0], hashed=True)
    assert redact.text(once, hashed=True) == once
    plain = redact.chat(once)
    assert "sha256" not in plain and "«secret: URL token»" in plain
    assert redact.text(plain) == plain


def test_the_same_secret_hashes_alike() -> None:
    a = redact.text(f"PASSWORD={GH}", hashed=True)
    b = redact.text(f"x {GH} y", hashed=True)
    assert re.findall(r"sha256:\w+", a) == re.findall(r"sha256:\w+", b)


def test_tool_inputs_are_masked_by_key_and_by_value() -> None:
    data = {"server": "db", "password": "p4ss", "nested": [{"API_KEY": 12345},
                                                              {"note": f"use {GH}"}],
            "max_tokens": 100, "token_file": "/tmp/t"}
    shown = json.dumps(redact.value(data), ensure_ascii=False)
    assert "p4ss" not in shown and "12345" not in shown and GH not in shown
    assert '"max_tokens": 100' in shown and "/tmp/t" in shown and '"server": "db"' in shown


@pytest.mark.parametrize("tool_input", [
    {"password": [P]}, {"token": {"value": P}}, {"headers": {"Authorization": f"Basic {P}"}},
    {"env": [{"name": "DB_PASSWORD", "value": P}]}, {"Cookie": P}, {"pwd": P}, {"auth": [1, P]},
    {"argv": ["curl", "-u", f"bob:{P}", "https://x"]}, {"args": ["mysql", "--password", P]},
    {"cmd": ["gh", "auth", "login", "--with-token", P]}, {"cfg": f'password = "{P}"'},
])
def test_structured_inputs_mask_every_secret_shape(tool_input: dict) -> None:
    shown = json.dumps(redact.value(tool_input), ensure_ascii=False)
    assert P not in shown and redact.MARK in shown, shown
    summary = audit.summarize_input("mcp__db__query", tool_input)
    assert P not in summary and "sha256:" in summary, summary


def test_a_deeply_nested_input_does_not_crash() -> None:
    deep: object = "x"
    for _ in range(3000):
        deep = [deep]
    assert "nested too deep" in json.dumps(redact.value({"a": deep}), ensure_ascii=False)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("filler", ["a", "a=", "password=", "-----BEGIN PRIVATE KEY-----",
                                    "AKIAIOSFODNN7EXAMPLE ", "x" * 39 + " ", "https://u:", "\n"])
def test_a_megabyte_of_hostile_text_is_handled(filler: str) -> None:
    big = filler * (1_000_000 // len(filler)) + f" TOKEN={GH}"
    out = redact.text(big)
    assert GH not in out and redact.MARK in out


def test_previews_show_no_secret_and_stay_valid_html() -> None:
    command = f"export GITHUB_TOKEN={GH} <b>&\nPASSWORD=hunter2 ./x"
    request = {"id": "7f3a", "tool_name": "Bash", "agent": "claude", "cwd": "/p",
               "session_id": "s", "tool_input": {"command": command}}
    html = render.request_message(request, footer=f"Denied: {GH}").text
    html += "".join(render.full_input(request))
    assert GH not in html and "hunter2" not in html
    assert "«secret: GitHub token»" in html and "&lt;b&gt;&amp;" in html
    write = {**request, "tool_name": "Write",
             "tool_input": {"file_path": "/p/.env", "content": "A=1\nAPI_KEY=k-999\n" * 30}}
    assert "k-999" not in render.request_message(write).text + "".join(render.full_input(write))
    edit = {**request, "tool_name": "Edit",
            "tool_input": {"file_path": "/p/.env", "old_string": "TOKEN=old-1",
                           "new_string": "TOKEN=new-2"}}
    assert "old-1" not in (t := render.request_message(edit).text) and "new-2" not in t


def test_notices_and_command_answers_show_no_secret() -> None:
    notice = Notice("finished", f"Done. I used {GH}\nand PASSWORD=hunter2",
                    items=[f"Bash: curl -u a:{AWS_KEY}"])
    texts = render.notice_messages(notice) + render.text_messages(f"• 7f3a Bash: {JWT}")
    joined = "".join(texts)
    assert GH not in joined and "hunter2" not in joined and AWS_KEY not in joined
    assert JWT.split(".")[1] not in joined and joined.count(redact.MARK) >= 4


def test_the_audit_summary_holds_a_hash_never_the_secret() -> None:
    summary = audit.summarize_input("Bash", {"command": f"curl -H 'Authorization: Bearer {GH}'"})
    assert GH not in summary and re.search(r"«secret: [^»]+ sha256:[0-9a-f]{12}»", summary)
    long = "echo " + "x " * 5000 + f"TOKEN={GH}"  # past the window: left out, never cut open
    assert GH[:12] not in audit.summarize_input("Bash", {"command": long})
    mcp = audit.summarize_input("mcp__db__q", {"password": "mcp-pass-1", "sql": "select 1"})
    assert "mcp-pass-1" not in mcp and "select 1" in mcp


def test_extra_patterns_mask_and_a_bad_one_names_the_key(tmp_path: Path) -> None:
    extra = redact.check_patterns([r"corp-[0-9]{6}", r"id=(?P<secret>\w+)"])
    out = redact.text("use corp-123456 with id=abc and corp-12", extra=extra)
    assert out == "use «secret: custom pattern» with id=«secret: custom pattern» and corp-12"
    for bad in (['corp-[0-9'], ["a*"], "corp"):
        with pytest.raises(ConfigError, match="redact_patterns"):
            config.validate({"redact_patterns": bad}, str(tmp_path / "config.toml"))


def test_configured_patterns_apply_everywhere(tether_home: Path) -> None:
    (tether_home / "config.toml").write_text('redact_patterns = ["acme-[0-9]{4}"]\n')
    assert config.load()["redact_patterns"] == ["acme-[0-9]{4}"]
    assert "acme-1234" not in redact.text("key acme-1234")
    assert "acme-1234" not in audit.summarize_input("Bash", {"command": "run acme-1234"})


def test_logged_command_lines_keep_no_secret() -> None:
    line = redact.argv(["th", "--password", "pw1234", "--bot-token=123:x", "run",
                        f"--note={GH}"])
    assert "pw1234" not in str(line) and "123:x" not in str(line) and GH not in str(line)
    assert line[:2] == ["th", "--password"] and "run" in line


def test_question_buttons_show_no_secret() -> None:
    from tether_hooks.listener import chat

    asked = {"question": "Which key?", "labels": [GH, "none"], "multi": False}
    labels = [b.label for row in chat.question_buttons(asked, 0, "n0") for b in row]
    assert not any(GH[:10] in label for label in labels) and "«secret" in labels[0]
