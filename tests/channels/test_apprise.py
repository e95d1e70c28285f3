"""The apprise channel through the real apprise library to a real HTTP receiver on loopback.

apprise's ``json://`` and ``form://`` services post to any URL, so the webhook receiver of the
test bed stands for Telegram or ntfy: what it records is what apprise sent. The incident
service runs inside each recorded cycle, as in the daemon; delivery passes run at a fake
clock's time. Without the extra, the error is checked in a child process that cannot import
apprise (``sys.modules["apprise"] = None``: both ``import`` and ``find_spec`` say it is not
there).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from testbed.servers.http_receiver import HttpReceiver, Reply
from tests.channels.conftest import Deliver
from tests.channels.test_command import example_block
from tests.config.test_config import MINIMAL, problems_of, write
from tests.incidents.conftest import query
from tests.incidents.test_lifecycle import down, up
from tests.store.store_helpers import at
from watchdog.channels.apprise_notify import MISSING_EXTRA, AppriseNotifyConfig, split_urls
from watchdog.channels.errors import DeliveryError
from watchdog.channels.provider import Outgoing
from watchdog.cli import main
from watchdog.config import Config, dump_config, load_config
from watchdog.config.zone import site_zone
from watchdog.delivery.senders import build_senders
from watchdog.errors import EX_CONFIG
from watchdog.store.writer import Store

TOKEN = "s3cret-t0ken-9f2c"
SUBJECT = "[Office] Internet down since 13:00 (ISP side)"
CHANNEL = """
[site]
name = "Office"
timezone = "Europe/Paris"

[storage]
database = "watchdog.db"

[[notify.apprise]]
name = "chat"
urls_file = "apprise-urls"
events = ["outage_started", "recovered", "test"]
"""

# write_urls(*urls): the channel's secret file, with a comment line as people write it.
WriteUrls = Callable[..., None]


@pytest.fixture
def write_urls(tmp_path: Path) -> WriteUrls:
    def write_them(*urls: str) -> None:
        (tmp_path / "apprise-urls").write_text(
            "# the chat's webhook; the token is the path\n" + "\n".join(urls) + "\n")

    return write_them


@pytest.fixture
def config(tmp_path: Path, receiver: HttpReceiver, write_urls: WriteUrls) -> Config:
    write_urls(f"json://127.0.0.1:{receiver.port}/{TOKEN}")
    return load_config(write(tmp_path, MINIMAL + CHANNEL))


def outbox(store: Store) -> list[tuple[object, ...]]:
    return query(store, "SELECT event, status, attempts, last_error FROM outbox ORDER BY id")


def test_its_urls_come_from_a_secret_file_and_are_never_shown(
    config: Config, receiver: HttpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    (chat,) = config.notify.apprise
    assert isinstance(chat, AppriseNotifyConfig)
    assert chat.urls is not None
    assert split_urls(chat.urls.reveal()) == [f"json://127.0.0.1:{receiver.port}/{TOKEN}"]
    assert (chat.body, chat.events) == (True, ["outage_started", "recovered", "test"])
    dumped = dump_config(config)
    assert "[[notify.apprise]]" in dumped
    assert 'urls = "********"  # from file apprise-urls' in dumped
    assert TOKEN not in dumped
    assert main(["config", "check", "--config", str(config.source)]) == 0
    assert TOKEN not in capsys.readouterr().out


def test_its_urls_may_come_from_the_environment_but_not_from_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "watchdog.toml"
    entry = '\n[[notify.apprise]]\nname = "chat"\n'
    monkeypatch.setenv("CHAT_URLS", "ntfy://ntfy.office.lan/internet tgram://123:abc/456")
    (chat,) = load_config(write(tmp_path, MINIMAL + entry + 'urls_env = "CHAT_URLS"\n')
                          ).notify.apprise
    assert chat.urls is not None and chat.urls.source == "$CHAT_URLS"
    refusal = (f"{file}: notify.apprise[0].urls: apprise URLs hold tokens: give them in "
               "urls_file (a file, one URL a line) or urls_env (a variable), not in the "
               "config file")
    assert problems_of(tmp_path, MINIMAL + entry + 'urls = "tgram://123:abc/456"\n') == [
        refusal]
    assert problems_of(tmp_path, MINIMAL + entry) == [refusal]
    monkeypatch.setenv("CHAT_URLS", " \n")
    assert problems_of(tmp_path, MINIMAL + entry + 'urls_env = "CHAT_URLS"\n') == [
        f"{file}: notify.apprise[0].urls_env: holds no apprise URL ($CHAT_URLS); add one, such "
        "as tgram://BOT_TOKEN/CHAT_ID"]


def test_the_example_config_shows_every_key_with_its_default(tmp_path: Path) -> None:
    (tmp_path / "apprise-urls").write_text("ntfy://ntfy.office.lan/internet\n")
    block = example_block("notify.apprise")
    (example,) = load_config(write(tmp_path, MINIMAL + block)).notify.apprise
    shown = {line.split("=")[0].strip() for line in block.splitlines()[1:]}
    # urls itself is never written in the config: its _file stands for it (or its _env, named
    # in the file's comment: only one of them may be given).
    assert shown == {f.name for f in dataclasses.fields(example)} - {"urls", "urls_env"}
    (default,) = load_config(write(tmp_path, MINIMAL + '[[notify.apprise]]\nname = "x"\n'
                                   'urls_file = "apprise-urls"\n')).notify.apprise
    assert (example.body, example.timeout) == (default.body, default.timeout)


def test_a_message_goes_out_with_its_title_text_type_and_key(
    config: Config, store: Store, deliver: Deliver, receiver: HttpReceiver
) -> None:
    up(store, 0)
    down(store, 10)
    assert deliver("chat", 14) == 1
    (request,) = receiver.wait_for(1)
    assert request.path == f"/{TOKEN}"
    body = request.json()
    assert body["title"] == SUBJECT
    assert body["message"].startswith("Internet down since 13:00 (ISP side)\n")
    assert "Sat 1 Mar 2025 13:00" in body["message"]  # the whole text, footer included
    assert body["type"] == "failure"
    ((key,),) = query(store, "SELECT key FROM outbox")
    assert request.header("Idempotency-Key") == key
    # The proof: the service's scheme (never its URL: the token is in it) and apprise's word.
    (proof,) = query(store, "SELECT server, reply FROM delivery_attempt")
    assert proof == ("apprise json", "json: SUCCESS")

    up(store, 60)
    assert deliver("chat", 64) == 1
    assert receiver.wait_for(2)[1].json()["type"] == "success"


def test_a_form_service_gets_the_short_text_when_body_is_false(
    tmp_path: Path, store: Store, receiver: HttpReceiver, write_urls: WriteUrls
) -> None:
    write_urls(f"form://127.0.0.1:{receiver.port}/hook")
    config = load_config(write(tmp_path, MINIMAL + CHANNEL + "body = false\n"))
    sender = build_senders(config, site_zone(config))["chat"]
    sender.send(Outgoing("k-1", "chat", "outage_started", None, _down_context(store)), at(14))
    (request,) = receiver.wait_for(1)
    fields = parse_qs(request.body.decode())
    assert fields["title"] == [SUBJECT]
    assert fields["message"] == ["Internet down since 13:00 (ISP side)"]
    assert request.header("Idempotency-Key") == "k-1"


def _down_context(store: Store) -> dict[str, object]:
    """The stored context of an outage's first notice (recorded through the real service)."""
    up(store, 0)
    down(store, 10)
    ((context,),) = query(store, "SELECT context FROM outbox WHERE event = 'outage_started'")
    return dict(json.loads(context))


def test_a_failure_is_retried_with_apprises_own_words_masked(
    config: Config, store: Store, deliver: Deliver, receiver: HttpReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    receiver.script(f"/{TOKEN}", Reply(status=500), Reply(status=200))
    up(store, 0)
    down(store, 10)
    assert deliver("chat", 14) == 0
    (message,) = outbox(store)
    assert message == ("outage_started", "pending", 1,
                       "apprise could not deliver it (json: FAILURE, Failed to send JSON POST "
                       "notification: Internal server error., error=500.)")
    assert deliver("chat", 60) == 1
    assert len(receiver.wait_for(2)) == 2
    attempts = query(store, "SELECT outcome, server FROM delivery_attempt ORDER BY id")
    assert attempts == [("transient", "apprise json"), ("sent", "apprise json")]
    # Neither the record nor the logs show the token.
    assert TOKEN not in str(query(store, "SELECT * FROM delivery_attempt"))
    assert TOKEN not in "".join(capsys.readouterr())


def test_services_that_took_a_message_do_not_get_it_again_on_the_retry(
    tmp_path: Path, store: Store, receiver: HttpReceiver, write_urls: WriteUrls
) -> None:
    write_urls(f"json://127.0.0.1:{receiver.port}/signal",
               f"json://chat-user:{TOKEN}@127.0.0.1:{receiver.port}/matrix")
    config = load_config(write(tmp_path, MINIMAL + CHANNEL))
    sender = build_senders(config, site_zone(config))["chat"]
    receiver.script("/matrix", Reply(status=503), Reply(status=200))
    outgoing = Outgoing("k-2", "chat", "outage_started", None, _down_context(store))
    with pytest.raises(DeliveryError) as caught:
        sender.send(outgoing, at(14))
    error = caught.value
    assert not error.permanent
    assert str(error) == ("apprise could not deliver it (json: FAILURE, Failed to send JSON "
                          "POST notification: Servers are overloaded., error=503.); 1 of 2 took it")
    assert error.server == "apprise json, json"
    sent = sender.send(outgoing, at(60))
    assert [request.path for request in receiver.wait_for(3)] == ["/signal", "/matrix",
                                                                   "/matrix"]
    assert sent.reply == "json: SUCCESS (earlier attempt); json: SUCCESS"


def test_a_url_apprise_does_not_know_is_permanent(
    tmp_path: Path, store: Store, write_urls: WriteUrls
) -> None:
    write_urls(f"nosuchservice://{TOKEN}@example.invalid/x")
    config = load_config(write(tmp_path, MINIMAL + CHANNEL))
    sender = build_senders(config, site_zone(config))["chat"]
    with pytest.raises(DeliveryError) as caught:
        sender.send(Outgoing("k-3", "chat", "test", None, _down_context(store)), at(14))
    assert caught.value.permanent
    assert str(caught.value) == (
        "URL 1 of notify.apprise 'chat' (nosuchservice://...) is not one apprise can use; fix "
        "it where the URLs are kept (see apprise's documentation for that service)")


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, timeout=60, check=False)


def test_without_the_extra_config_check_says_how_to_install_it(config: Config) -> None:
    checked = run_python(
        "import sys\n"
        "sys.modules['apprise'] = None  # as if the extra were not installed\n"
        "from watchdog.cli import main\n"
        f"sys.exit(main(['config', 'check', '--config', {str(config.source)!r}]))\n",
        config.source.parent)
    assert checked.returncode == EX_CONFIG
    assert checked.stdout == ""
    assert checked.stderr == (
        f"{config.source}: notify.apprise[0]: the apprise library is not installed; install "
        "the extra (make install EXTRAS=apprise, or pip install "
        "'connectivity-watchdog[apprise]' in the watchdog's environment) or remove this "
        "channel\n")


def test_without_the_extra_a_message_waits_and_says_why(
    config: Config, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = build_senders(config, site_zone(config))["chat"]
    monkeypatch.setitem(sys.modules, "apprise", None)
    with pytest.raises(DeliveryError) as caught:
        sender.send(Outgoing("k-4", "chat", "test", None, _down_context(store)), at(14))
    assert not caught.value.permanent
    assert str(caught.value) == MISSING_EXTRA


def test_apprise_is_loaded_to_send_and_never_to_read_the_config(
    config: Config, store: Store
) -> None:
    loaded = run_python(
        "import sys\n"
        "from watchdog.cli import main\n"
        "from watchdog.config import load_config\n"
        "from watchdog.config.zone import site_zone\n"
        "from watchdog.delivery.senders import build_senders\n"
        f"path = {str(config.source)!r}\n"
        "assert main(['status', '--config', path]) in (0, 1, 2, 3)\n"  # the state's code
        "main(['config', 'check', '--config', path])\n"
        "config = load_config(path)\n"
        "build_senders(config, site_zone(config))\n"
        "print('apprise' in sys.modules)\n",
        config.source.parent)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.splitlines()[-1] == "False"
