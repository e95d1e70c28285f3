"""``make install`` / ``make uninstall`` into a throwaway root, and ``watchdog status`` there as a
non-root member of the service group, while the daemon runs and after it stopped.

No systemd runs here as PID 1, so the test stages the install with ``DESTDIR`` and then does by
hand what the unit would do: it runs the installed daemon as the service user with the unit's
``UMask=0027``, in a network namespace of its own (only loopback, ping allowed there), probing
loopback addresses only. The file modes it leaves are the ones the service would leave.

Ownership: a ``DESTDIR`` install chowns only to a user and group the host knows (it writes the
sysusers.d and tmpfiles.d files for the target instead). Members must read the files here, so
the test creates the system group and user ``connectivity-watchdog`` on this host when missing
(as ``make install`` does on a real root) and removes them afterwards; the sysusers.d and
tmpfiles.d files are checked on their own, applied to a scratch root.

The root is made with ``mkdtemp`` under /tmp, mode 0755, not pytest's ``tmp_path``: that lies
under /tmp/pytest-of-root (mode 0700), where no other user could reach the installed program.
The pip install takes most of the time, so the module installs once and the tests run in order:
the last ones upgrade and then uninstall the same root.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.environment import require, unavailable

REPO = Path(__file__).resolve().parents[2]
SERVICE = "connectivity-watchdog"
PREFIX = Path("/opt/connectivity-watchdog")
CONFIG = Path("/etc/connectivity-watchdog/watchdog.toml")
CREDENTIALS = Path("/etc/connectivity-watchdog/credentials")
STATE = Path("/var/lib/connectivity-watchdog")
DATABASE = STATE / "watchdog.db"
UNIT = Path("/usr/local/lib/systemd/system/connectivity-watchdog.service")
PING_RAW = UNIT.parent / "connectivity-watchdog.service.d" / "ping-raw.conf"
SYSUSERS = Path("/usr/local/lib/sysusers.d/connectivity-watchdog.conf")
TMPFILES = Path("/usr/local/lib/tmpfiles.d/connectivity-watchdog.conf")
LINK = Path("/usr/local/bin/watchdog")
NOLOGIN = "/usr/sbin/nologin" if os.path.exists("/usr/sbin/nologin") else "/bin/false"

TOOLS = ("make", "useradd", "groupadd", "userdel", "groupdel", "runuser", "setpriv", "unshare",
         "getent")

# The daemon's config for the test: loopback targets only, the gateway too (never the host's).
LOOPBACK_CONFIG = """\
[site]
name = "install test"
[schedule]
ping_interval = "1s"
ping_timeout = "500ms"
[gateway]
address = "127.0.0.1"
[[ping]]
name = "loopback-1"
address = "127.0.0.1"
[[ping]]
name = "loopback-2"
address = "127.0.0.2"
"""

# A relay whose password is a secret file of credentials/, as the README shows.
SECRET_CONFIG = """
[[smtp]]
name = "relay"
host = "127.0.0.1"
security = "none"
sender = "watchdog@office.example"
username = "watchdog"
password_file = "smtp-password"
[[notify.email]]
name = "management"
smtp = "relay"
to = ["boss@office.example"]
"""

# Run as root in a new network namespace, then as the service user with the unit's umask.
DAEMON_SCRIPT = """\
ip link set lo up 2>/dev/null || true
echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range
umask 0027
exec setpriv --reuid="$1" --regid="$1" --clear-groups -- "$2" -m watchdog run \
    --config "$3" --database "$4"
"""


def _service_python() -> str | None:
    for name in ("python3.13", "python3.12", "python3.11", "python3"):
        candidate = Path("/usr/bin") / name
        if candidate.exists() and subprocess.run(
            [candidate, "-c", "import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))"],
            capture_output=True, check=False,
        ).returncode == 0:
            return str(candidate)
    return None


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (useradd, chown, setpriv, a network namespace): run the tests as root"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not installed"
    if _service_python() is None and not os.environ.get("SERVICE_PYTHON"):
        return ("no /usr/bin/python3.11 or later with venv (apt-get install python3 python3-venv) "
                "for make install to build the service's environment from")
    return None


@pytest.fixture(scope="module", autouse=True)
def _this_machine_can_install() -> None:
    """Before the module's other fixtures (make install, accounts): skip, or fail under
    .ci/run, when root, a tool or the distribution's Python with venv is missing."""
    require(_skip_reason())


def run(*args: str | Path, check: bool = True, env: dict[str, str] | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    # cwd "/": ``python -m watchdog`` run in this checkout would import the checkout's package.
    result = subprocess.run([str(arg) for arg in args], capture_output=True, text=True,
                            timeout=timeout, check=False, env=env, cwd="/")
    if check:
        assert result.returncode == 0, f"{args} exited {result.returncode}:\n" \
            f"{result.stdout}\n{result.stderr}"
    return result


def make(target: str, root: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    extra = [f"{key}={value}" for key, value in variables.items()]
    return run("make", "--no-print-directory", "-C", REPO, target, f"DESTDIR={root}", *extra)


def exists(kind: str, name: str) -> bool:
    return run("getent", kind, name, check=False).returncode == 0


@dataclass(frozen=True)
class Account:
    uid: int
    gid: int


@dataclass(frozen=True)
class Installed:
    root: Path
    output: str
    account: Account

    def at(self, path: Path) -> Path:
        return self.root / path.relative_to("/")

    @property
    def python(self) -> Path:
        return self.at(PREFIX / "bin" / "python")


@pytest.fixture(scope="module")
def account() -> Iterator[Account]:
    """The service's system group and user on this host (created here when missing)."""
    created_group = created_user = False
    if not exists("group", SERVICE):
        run("groupadd", "--system", SERVICE)
        created_group = True
    if not exists("passwd", SERVICE):
        run("useradd", "--system", "--gid", SERVICE, "--home-dir", STATE, "--no-create-home",
            "--shell", NOLOGIN, SERVICE)
        created_user = True
    try:
        yield Account(int(run("id", "-u", SERVICE).stdout), int(run("id", "-g", SERVICE).stdout))
    finally:
        if created_user:
            run("userdel", SERVICE, check=False)
        if created_group:
            run("groupdel", SERVICE, check=False)


@pytest.fixture(scope="module")
def installed(account: Account) -> Iterator[Installed]:
    root = Path(tempfile.mkdtemp(prefix="cw-install-", dir="/tmp"))
    root.chmod(0o755)
    try:
        started = time.monotonic()
        result = make("install", root)
        print(f"make install into {root}: {time.monotonic() - started:.1f} s")
        yield Installed(root, result.stdout + result.stderr, account)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def users(account: Account) -> Iterator[tuple[str, str]]:
    """(a member of the service group, a user outside it): plain users, no home, no login."""
    member, outsider = f"cwtest-m{os.getpid()}", f"cwtest-o{os.getpid()}"
    run("useradd", "--no-create-home", "--shell", NOLOGIN, "--groups", SERVICE, member)
    try:
        run("useradd", "--no-create-home", "--shell", NOLOGIN, outsider)
        try:
            yield member, outsider
        finally:
            run("userdel", outsider, check=False)
    finally:
        run("userdel", member, check=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def status_as(user: str, installed: Installed, config: Path | None = None
              ) -> subprocess.CompletedProcess[str]:
    """``watchdog status`` from the installed environment, run as ``user`` (its groups too)."""
    return run("runuser", "-u", user, "--", installed.python, "-m", "watchdog", "status",
               "--config", config or installed.at(CONFIG),
               "--database", installed.at(DATABASE), check=False, timeout=60)


# --- the installed tree --------------------------------------------------------------------


def test_the_program_is_installed_where_the_unit_expects_it(installed: Installed) -> None:
    venv = installed.at(PREFIX)
    # Made from a Python every user can run, not from a pyenv under /root.
    home = dict(line.split(" = ", 1) for line in (venv / "pyvenv.cfg").read_text().splitlines()
                if " = " in line)["home"]
    assert not home.startswith("/root"), home
    command = venv / "bin" / "watchdog"
    assert mode(command) & 0o755 == 0o755
    # The scripts name the final place, not the staging root.
    assert command.read_text().splitlines()[0] == f"#!{PREFIX}/bin/python"
    for script in (venv / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            assert str(installed.root) not in script.read_text(errors="replace"), script
    assert os.readlink(installed.at(LINK)) == str(PREFIX / "bin" / "watchdog")
    version = run(installed.python, "-m", "watchdog", "--version")
    assert "watchdog" in version.stdout
    # A non-editable install: the package lives in the environment, not in this checkout.
    located = run(installed.python, "-c", "import watchdog; print(watchdog.__file__)",
                  env={"PATH": "/usr/bin:/bin"})
    assert located.stdout.startswith(str(venv)), located.stdout


def test_the_systemd_files_are_installed(installed: Installed) -> None:
    assert installed.at(UNIT).read_text() == (REPO / "systemd" / f"{SERVICE}.service").read_text()
    assert mode(installed.at(UNIT)) == 0o644
    assert installed.at(SYSUSERS).read_text() == \
        (REPO / "systemd" / f"{SERVICE}.sysusers").read_text()
    assert installed.at(TMPFILES).read_text() == \
        (REPO / "systemd" / f"{SERVICE}.tmpfiles").read_text()
    low, high = map(int, Path("/proc/sys/net/ipv4/ping_group_range").read_text().split())
    ping_sockets_allowed = low <= installed.account.gid <= high
    # The CAP_NET_RAW drop-in comes only where unprivileged ping sockets are refused.
    assert installed.at(PING_RAW).exists() is not ping_sockets_allowed


def test_the_config_is_group_readable_and_names_the_service_database(
    installed: Installed,
) -> None:
    config = installed.at(CONFIG)
    info = config.stat()
    assert (mode(config), info.st_uid, info.st_gid) == (0o640, 0, installed.account.gid)
    assert tomllib.loads(config.read_text())["storage"]["database"] == str(DATABASE)
    # Otherwise the example, as shipped.
    example = (REPO / "config" / "watchdog.toml").read_text().splitlines()
    differing = [line for line in config.read_text().splitlines() if line not in example]
    assert differing == [f'database = "{DATABASE}"']
    state = installed.at(STATE).stat()
    assert (mode(installed.at(STATE)), state.st_uid, state.st_gid) == \
        (0o750, installed.account.uid, installed.account.gid)


def test_the_staged_ownership_is_declared_for_the_target(tmp_path: Path) -> None:
    """What a host without the group gets: sysusers.d and tmpfiles.d, applied on the target."""
    if not (shutil.which("systemd-sysusers") and shutil.which("systemd-tmpfiles")):
        unavailable("systemd-sysusers or systemd-tmpfiles is not installed "
                    "(apt-get install systemd)")
    target = tmp_path / "target"
    for directory in ("etc/connectivity-watchdog", "usr/lib/sysusers.d", "usr/lib/tmpfiles.d"):
        (target / directory).mkdir(parents=True)
    for name in ("passwd", "group"):
        (target / "etc" / name).touch()
    (target / "etc/connectivity-watchdog/watchdog.toml").touch(mode=0o644)
    shutil.copy(REPO / "systemd" / f"{SERVICE}.sysusers",
                target / "usr/lib/sysusers.d" / f"{SERVICE}.conf")
    shutil.copy(REPO / "systemd" / f"{SERVICE}.tmpfiles",
                target / "usr/lib/tmpfiles.d" / f"{SERVICE}.conf")
    run("systemd-sysusers", f"--root={target}")
    run("systemd-tmpfiles", "--create", f"--root={target}")
    user = next(line.split(":") for line in (target / "etc/passwd").read_text().splitlines()
                if line.startswith(f"{SERVICE}:"))
    uid, gid, home, shell = int(user[2]), int(user[3]), user[5], user[6]
    assert uid < 1000 and home == str(STATE) and shell.endswith("nologin")
    state = target / "var/lib/connectivity-watchdog"
    assert (mode(state), state.stat().st_uid, state.stat().st_gid) == (0o750, uid, gid)
    config = target / "etc/connectivity-watchdog/watchdog.toml"
    assert (mode(config), config.stat().st_uid, config.stat().st_gid) == (0o640, 0, gid)
    credentials = target / "etc/connectivity-watchdog/credentials"
    assert (mode(credentials), credentials.stat().st_uid, credentials.stat().st_gid) == (
        0o700, 0, 0)


def test_an_interpreter_other_users_cannot_run_is_refused(tmp_path: Path) -> None:
    hidden = Path(tempfile.mkdtemp(prefix="cw-hidden-", dir="/tmp"))  # mode 0700
    root = Path(tempfile.mkdtemp(prefix="cw-refused-", dir="/tmp"))
    try:
        python = _service_python() or os.environ["SERVICE_PYTHON"]
        (hidden / "python3").symlink_to(python)
        result = run("bash", REPO / "tools" / "install.sh", "install", check=False,
                     env={**os.environ, "DESTDIR": str(root),
                          "SERVICE_PYTHON": str(hidden / "python3")})
        assert result.returncode != 0
        error = result.stderr.strip()
        assert len(error.splitlines()) == 1 and "cannot be run by the service user" in error
        assert not (root / "opt").exists()
    finally:
        shutil.rmtree(hidden, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)


# --- watchdog status as a group member -----------------------------------------------------


@pytest.fixture(scope="module")
def daemon_config(installed: Installed) -> Path:
    directory = installed.root / "test-config"
    directory.mkdir(mode=0o755)
    path = directory / "watchdog.toml"
    path.write_text(LOOPBACK_CONFIG)
    path.chmod(0o644)
    return path


def wait_until_running(installed: Installed, daemon: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        assert daemon.poll() is None, f"the daemon exited {daemon.returncode}:\n" \
            f"{log.read_text()}"
        result = run(installed.python, "-m", "watchdog", "status", "--json", "--config",
                     installed.at(CONFIG), "--database", installed.at(DATABASE), check=False)
        # Exit 0 to 2: a state the running daemon recorded (3: not running yet).
        if result.returncode in (0, 1, 2) and json.loads(result.stdout)["daemon"]["running"]:
            return
        time.sleep(0.3)
    pytest.fail(f"the daemon did not record a cycle within 40 s:\n{log.read_text()}")


def assert_service_files(installed: Installed, names: list[str]) -> None:
    for name in names:
        info = (installed.at(STATE) / name).stat()
        assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == \
            (0o640, installed.account.uid, installed.account.gid), name


def test_a_group_member_reads_status_while_the_daemon_runs_and_after_it_stopped(
    installed: Installed, users: tuple[str, str], daemon_config: Path,
) -> None:
    member, _ = users
    log = installed.root / "daemon.log"
    with log.open("wb") as output:
        daemon = subprocess.Popen(
            ["unshare", "--net", "--", "sh", "-c", DAEMON_SCRIPT, "daemon", SERVICE,
             str(installed.python), str(daemon_config), str(installed.at(DATABASE))],
            stdout=output, stderr=subprocess.STDOUT, cwd="/")
    try:
        wait_until_running(installed, daemon, log)
        # In WAL mode: the database, its -wal and -shm, all 0640 to the service's group.
        assert_service_files(installed, ["watchdog.db", "watchdog.db-wal", "watchdog.db-shm"])
        running = status_as(member, installed)
        assert running.returncode == 0, running.stderr
        assert "Daemon: running" in running.stdout, running.stdout
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0, log.read_text()
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    # A clean stop leaves the file in rollback-journal mode, without -wal/-shm, still 0640
    # (and the single-writer lock file, unlocked).
    state_files = sorted(path.name for path in installed.at(STATE).iterdir())
    assert state_files == ["watchdog.db", "watchdog.db.lock"], state_files
    assert_service_files(installed, ["watchdog.db", "watchdog.db.lock"])
    stopped = status_as(member, installed)
    assert stopped.returncode == 3, stopped.stderr  # unknown: the daemon is not running
    assert "Daemon: stopped cleanly" in stopped.stdout, stopped.stdout


def assert_one_sentence_naming_the_group(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"'{SERVICE}'" in lines[0] and "usermod -aG" in lines[0], lines[0]


def test_a_user_outside_the_group_is_told_which_group_to_join(
    installed: Installed, users: tuple[str, str], daemon_config: Path,
) -> None:
    _, outsider = users
    if not installed.at(DATABASE).exists():
        pytest.skip("needs the database of the test above")
    # With a config the outsider may read, the database refuses: the group is named.
    assert_one_sentence_naming_the_group(status_as(outsider, installed, config=daemon_config))


def test_a_user_outside_the_group_is_told_which_group_to_join_by_the_config(
    installed: Installed, users: tuple[str, str],
) -> None:
    _, outsider = users
    # The installed config (0640) is the first file an outsider cannot read.
    assert_one_sentence_naming_the_group(status_as(outsider, installed))


# --- secrets: root's, handed to the service by systemd, never to the status readers ---------


def test_secrets_are_roots_and_no_status_reader_can_read_them(
    installed: Installed, users: tuple[str, str],
) -> None:
    member, _ = users
    credentials = installed.at(CREDENTIALS)
    info = credentials.stat()
    assert (mode(credentials), info.st_uid, info.st_gid) == (0o700, 0, 0)
    # As the README says: install -m 0600 /dev/null smtp-password && editor smtp-password.
    secret = credentials / "smtp-password"
    run("install", "-m", "0600", "/dev/null", secret)
    secret.write_text("s3cret-smtp\n")
    config = installed.at(CONFIG.parent / "with-secret.toml")
    config.write_text(LOOPBACK_CONFIG + SECRET_CONFIG)
    config.chmod(0o640)
    os.chown(config, 0, installed.account.gid)
    try:
        read = run("runuser", "-u", member, "--", "cat", secret, check=False)
        assert read.returncode != 0 and "Permission denied" in read.stderr
        # Nor through the watchdog: status reads no secret; what does read them is refused.
        status = status_as(member, installed, config=config)
        assert "s3cret" not in status.stdout + status.stderr
        assert status.returncode in (0, 1, 2, 3), status.stderr
        check = run("runuser", "-u", member, "--", installed.python, "-m", "watchdog",
                    "config", "check", "--config", config, check=False)
        assert check.returncode == 78
        assert f"smtp[0].password_file: 'smtp-password': {secret} cannot be read " \
            "(Permission denied)" in check.stderr
        assert "s3cret" not in check.stdout + check.stderr
        # Root's config check reads it where the unit's LoadCredential= takes it from, and
        # finds nothing to say of it (root's, 0600, loaded by systemd for the service).
        check = run(installed.python, "-m", "watchdog", "config", "check", "--config", config,
                    "--database", installed.at(DATABASE))
        assert "smtp[0]" not in check.stderr, check.stderr
        assert 'password = "********"  # from file smtp-password' in check.stdout
    finally:
        config.unlink()
        secret.unlink()
    unit = installed.at(UNIT).read_text()
    assert f"LoadCredential=secret:{CREDENTIALS}\n" in unit


# --- upgrade, then uninstall (these change the installed root: they run last) ----------------


def test_installing_again_upgrades_and_keeps_config_and_data(installed: Installed) -> None:
    config, state = installed.at(CONFIG), installed.at(STATE)
    with config.open("a") as handle:
        handle.write("# edited by the administrator\n")
    (state / "keep-me").write_text("data")
    old = installed.at(PREFIX).stat().st_ino
    started = time.monotonic()
    result = make("install", installed.root, EXTRAS="apprise")
    print(f"make install again (upgrade): {time.monotonic() - started:.1f} s")
    assert "kept the existing" in result.stdout
    assert config.read_text().endswith("# edited by the administrator\n")
    assert (mode(config), config.stat().st_gid) == (0o640, installed.account.gid)
    assert (state / "keep-me").read_text() == "data"
    # The environment was rebuilt beside the old one and swapped in.
    assert installed.at(PREFIX).stat().st_ino != old
    assert not installed.at(Path(f"{PREFIX}.new")).exists()
    assert not installed.at(Path(f"{PREFIX}.old")).exists()
    run(installed.python, "-m", "watchdog", "--version")
    # The optional extra asked for came with it (the [[notify.apprise]] channel's library).
    run(installed.python, "-c", "import apprise")


def test_uninstall_keeps_config_and_data_unless_purge(installed: Installed) -> None:
    make("uninstall", installed.root)
    for gone in (PREFIX, LINK, UNIT, PING_RAW, SYSUSERS, TMPFILES):
        assert not os.path.lexists(installed.at(gone)), gone
    assert installed.at(CONFIG).exists()
    assert (installed.at(STATE) / "keep-me").exists()
    make("uninstall", installed.root, PURGE="1")
    assert not installed.at(CONFIG.parent).exists()
    assert not installed.at(STATE).exists()
