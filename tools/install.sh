#!/usr/bin/env bash
# Install, upgrade or uninstall connectivity-watchdog as a systemd service.
#
#   tools/install.sh install      (make install)     also the upgrade: run it again
#   tools/install.sh uninstall    (make uninstall)   PURGE=1 also removes config and data
#
# Environment:
#   DESTDIR         stage everything under this directory (packaging, tests); no useradd, no
#                   systemctl, no chown to a user the build host does not have
#   PURGE=1         uninstall: also remove /etc/connectivity-watchdog, the unit's drop-ins in
#                   /etc/systemd/system and /var/lib/connectivity-watchdog
#   SERVICE_PYTHON  the Python (3.11 or later) the service's virtual environment is made from;
#                   default: the distribution's /usr/bin/python3.X, which every user can run
#   PING_RAW        auto (default), yes or no: add the CAP_NET_RAW drop-in (see ping-raw.conf)
#   EXTRAS          optional features to install with it, comma-separated: apprise (the
#                   [[notify.apprise]] channel); give them again at each upgrade
#   BINDIR UNITDIR SYSUSERSDIR TMPFILESDIR   where the command link and the systemd files go
#                   (defaults below: the administrator's /usr/local; a distribution package
#                   would pass /usr/lib/...)
#
# Where things go: the program in /opt/connectivity-watchdog (its own virtual environment: the
# PyPI package "watchdog" has the same import name), the command as /usr/local/bin/watchdog,
# the config in /etc/connectivity-watchdog (never overwritten; the secrets in its credentials/,
# root's alone), the data in /var/lib/connectivity-watchdog (never touched by the installer
# except to create it).
set -euo pipefail
# Whatever the caller's umask, what is installed must be readable by the service user.
umask 022

NAME=connectivity-watchdog
SERVICE_USER=$NAME
SERVICE_GROUP=$NAME
PREFIX=/opt/$NAME                      # the unit's ExecStart names it: not configurable
CONFDIR=/etc/$NAME
STATEDIR=/var/lib/$NAME
DATABASE=$STATEDIR/watchdog.db
BINDIR=${BINDIR:-/usr/local/bin}
UNITDIR=${UNITDIR:-/usr/local/lib/systemd/system}
SYSUSERSDIR=${SYSUSERSDIR:-/usr/local/lib/sysusers.d}
TMPFILESDIR=${TMPFILESDIR:-/usr/local/lib/tmpfiles.d}
DESTDIR=${DESTDIR:-}
DESTDIR=${DESTDIR%/}
PURGE=${PURGE:-0}
PING_RAW=${PING_RAW:-auto}
EXTRAS=${EXTRAS:-}
# The overflow uid ("nobody"), unprivileged everywhere: if it can run the interpreter, so can
# the service user (nothing of an interpreter belongs to the service's group).
NOBODY_ID=65534

SOURCE=$(cd "$(dirname "$0")/.." && pwd)
D=$DESTDIR

ACTION=${1:-install}
say() { printf '%s: %s\n' "$ACTION" "$*"; }
die() { printf '%s: %s\n' "$ACTION" "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }
systemd_running() { [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; }
group_exists() { getent group "$SERVICE_GROUP" >/dev/null 2>&1; }
user_exists() { getent passwd "$SERVICE_USER" >/dev/null 2>&1; }

# chown only where it means something: as root, to a user and group this host knows.
set_owner() {  # OWNER:GROUP PATH
    local owner=${1%%:*} group=${1##*:}
    is_root || return 0
    if [ "$owner" != root ] && ! user_exists; then return 0; fi
    if [ "$group" != root ] && ! group_exists; then return 0; fi
    chown "$1" "$2"
}

# --- the interpreter ------------------------------------------------------------------------

choose_python() {
    if [ -n "${SERVICE_PYTHON:-}" ]; then
        printf '%s\n' "$SERVICE_PYTHON"
        return
    fi
    # The distribution's interpreter first: a pyenv or user-installed Python usually lives
    # under a home directory (here /root/.pyenv, mode 0700) that the service user cannot read.
    local candidate
    for candidate in /usr/bin/python3.13 /usr/bin/python3.12 /usr/bin/python3.11 /usr/bin/python3 \
                     /usr/local/bin/python3.13 /usr/local/bin/python3.12 /usr/local/bin/python3.11; do
        if [ -x "$candidate" ] && "$candidate" -c \
            'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            printf '%s\n' "$candidate"
            return
        fi
    done
    command -v python3.11 || command -v python3 || true
}

check_python() {  # PYTHON
    local python=$1
    if [ -z "$python" ] || [ ! -x "$python" ]; then
        die "no Python 3.11 or later found; install the distribution's (apt-get install" \
            "python3 python3-venv) or pass SERVICE_PYTHON=/path/to/python3."
    fi
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || die \
        "$python is older than Python 3.11; pass SERVICE_PYTHON=/path/to/python3.11 or later."
    "$python" -c 'import venv, ensurepip' 2>/dev/null || die "$python cannot make virtual" \
        "environments (no venv/ensurepip module); install python3-venv or pass SERVICE_PYTHON=."
    is_root || return 0   # only root can switch users to test it; the service start would tell
    if [ "$(run_probe "$python")" != "$(run_probe "$python" "$NOBODY_ID")" ]; then
        die "$python cannot be run by the service user $SERVICE_USER (it or its standard" \
            "library lies in a directory other users may not read, such as a pyenv under" \
            "/root); install the distribution's Python (apt-get install python3 python3-venv)" \
            "or pass SERVICE_PYTHON=/path/to/a/python3.11 that every user can run."
    fi
}

# What an interpreter says about itself, run as root or as another user. The same answer means
# the other user runs the same Python: one that cannot read its own standard library may still
# start, falling back to another installation's (a pyenv Python under /root finds Debian's).
run_probe() {  # PYTHON [UID]
    local probe='import os, sys, sqlite3, ssl; print(sys.version, sys.prefix, os.__file__)'
    if [ -n "${2:-}" ]; then
        # Through sh: setpriv runs its program before its capabilities are gone, so it could
        # exec a file the user may not reach; sh's exec happens as the user alone, as systemd's.
        # shellcheck disable=SC2016  # $0 and $1 are the inner shell's
        (cd / && setpriv --reuid="$2" --regid="$2" --clear-groups -- \
            /bin/sh -c 'exec "$0" -c "$1"' "$1" "$probe" 2>&1) || true
    else
        (cd / && "$1" -c "$probe" 2>&1) || true
    fi
}

# --- pieces of the install -------------------------------------------------------------------

make_user() {
    install -d -m 0755 "$D$SYSUSERSDIR" "$D$TMPFILESDIR"
    install -m 0644 "$SOURCE/systemd/$NAME.sysusers" "$D$SYSUSERSDIR/$NAME.conf"
    install -m 0644 "$SOURCE/systemd/$NAME.tmpfiles" "$D$TMPFILESDIR/$NAME.conf"
    if [ -n "$DESTDIR" ]; then
        group_exists || say "staged: the user and group $SERVICE_USER come from" \
            "$SYSUSERSDIR/$NAME.conf, ownership from $TMPFILESDIR/$NAME.conf (systemd-sysusers" \
            "and systemd-tmpfiles --create on the target)"
        return
    fi
    local shell=/usr/sbin/nologin
    [ -x "$shell" ] || shell=/sbin/nologin
    [ -x "$shell" ] || shell=/bin/false
    if ! group_exists; then
        groupadd --system "$SERVICE_GROUP"
        say "created the system group $SERVICE_GROUP"
    fi
    if ! user_exists; then
        useradd --system --gid "$SERVICE_GROUP" --home-dir "$STATEDIR" --no-create-home \
            --shell "$shell" --comment "$NAME service" "$SERVICE_USER"
        say "created the system user $SERVICE_USER"
    fi
}

# Copy the source tree's package files to a scratch directory and build from there: pip's
# in-tree build would leave build/ and *.egg-info in the checkout.
copy_source() {  # DEST
    local dest=$1
    mkdir -p "$dest"
    cp "$SOURCE/pyproject.toml" "$SOURCE/README.md" "$dest/"
    [ ! -e "$SOURCE/LICENSE" ] || cp "$SOURCE/LICENSE" "$dest/"
    tar -C "$SOURCE" --exclude=__pycache__ --exclude='*.pyc' -cf - watchdog | tar -C "$dest" -xf -
}

# Build the virtual environment beside the old one, then swap: a failed build leaves the
# installed program as it was, and the swap takes no time.
build_venv() {  # PYTHON
    local python=$1 stage="$D$PREFIX.new"
    rm -rf "$stage"
    install -d -m 0755 "$(dirname "$stage")"
    say "creating the virtual environment with $python"
    "$python" -m venv "$stage"
    SCRATCH=$(mktemp -d)
    STAGE=$stage
    # On any failure the half-built environment goes too; the installed one is untouched.
    trap 'rm -rf "$SCRATCH"; [ -z "${STAGE:-}" ] || rm -rf "$STAGE"' EXIT
    copy_source "$SCRATCH/src"
    say "installing the package and its dependencies into $PREFIX"
    # -qq: errors only (pip's warnings about this machine's index settings are noise here).
    "$stage/bin/python" -m pip install -qq --disable-pip-version-check \
        "$SCRATCH/src${EXTRAS:+[$EXTRAS]}"
    # It names the scratch copy, gone after the install; without it the package is a plain one.
    rm -f "$stage"/lib/python3*/site-packages/connectivity_watchdog-*.dist-info/direct_url.json
    # The environment was made at "$stage": point its scripts at where it will live.
    local file
    grep -rlF --null "$stage" "$stage/bin" "$stage/pyvenv.cfg" 2>/dev/null \
        | while IFS= read -r -d '' file; do
            sed -i "s|$stage|$PREFIX|g" "$file"
        done
    install -d -m 0755 "$stage/share/$NAME/templates"
    installed_config >"$stage/share/$NAME/watchdog.toml.example"
    chmod 0644 "$stage/share/$NAME/watchdog.toml.example"
    cp -r "$SOURCE/config/templates/examples" "$stage/share/$NAME/templates/"
    chmod -R u=rwX,go=rX "$stage"
    # The scripts now name $PREFIX, which does not exist yet: test through the interpreter.
    # From /: run in the checkout, "import watchdog" would find the checkout's package.
    (cd / && "$stage/bin/python" -c 'import watchdog.cli, watchdog.store.writer') \
        || die "the package installed into $stage does not import; see the error above."
}

# The example config with the service's database path: the example's own relative path is
# meant for a checkout (./var/watchdog.db next to config/).
installed_config() {
    awk -v database="$DATABASE" '
        /^\[/ { section = $0 }
        section == "[storage]" && !done && /^database[ \t]*=/ {
            print "database = \"" database "\""; done = 1; next
        }
        { print }
        END { if (!done) exit 3 }
    ' "$SOURCE/config/watchdog.toml" || die "config/watchdog.toml has no database = line in" \
        "[storage]; restore it there so the installed config can name $DATABASE."
}

check_config_text() {  # PYTHON FILE
    "$1" - "$2" "$DATABASE" <<'EOF' || die "the installed config does not name the database; see the error above."
import sys, tomllib
path, expected = sys.argv[1], sys.argv[2]
with open(path, "rb") as handle:
    found = tomllib.load(handle)["storage"]["database"]
if found != expected:
    sys.exit(f"{path}: storage.database is {found!r}, expected {expected!r}")
EOF
}

install_config() {  # PYTHON (the staged environment's)
    local python=$1 config="$D$CONFDIR/watchdog.toml"
    install -d -m 0755 "$D$CONFDIR"
    if [ -e "$config" ]; then
        say "kept the existing $CONFDIR/watchdog.toml (the new example is" \
            "$PREFIX/share/$NAME/watchdog.toml.example)"
        return
    fi
    local temp="$D$CONFDIR/.watchdog.toml.new"
    installed_config >"$temp"
    check_config_text "$python" "$temp"
    chmod 0640 "$temp"
    set_owner "root:$SERVICE_GROUP" "$temp"
    mv "$temp" "$config"
    say "wrote $CONFDIR/watchdog.toml (mode 0640, group $SERVICE_GROUP): fill in your" \
        "provider, targets and channels there"
}

# A config the new version rejects would make the restarted service exit 78: say so first,
# while the old program is still installed.
validate_config() {  # PYTHON (the staged environment's)
    local config="$D$CONFDIR/watchdog.toml" output
    [ -e "$config" ] || return 0
    if ! output=$(cd / && "$1" -m watchdog config check --config "$config" \
            --database "$D$DATABASE" 2>&1); then
        printf '%s\n' "$output" >&2
        die "$CONFDIR/watchdog.toml is not valid for this version (the lines above say why);" \
            "fix it and run make install again: nothing was changed."
    fi
}

# The secret files' directory: root's alone. The unit's LoadCredential= hands its files to
# the service; the group that may read the config (watchdog status) never sees them.
install_credentials_dir() {
    install -d -m 0755 "$D$CONFDIR"
    install -d -m 0700 "$D$CONFDIR/credentials"
    set_owner root:root "$D$CONFDIR/credentials"
}

install_state_dir() {
    install -d -m 0755 "$D/var/lib"
    install -d -m 0750 "$D$STATEDIR"
    set_owner "$SERVICE_USER:$SERVICE_GROUP" "$D$STATEDIR"
}

swap_venv() {
    local stage="$D$PREFIX.new" target="$D$PREFIX"
    rm -rf "$target.old"
    if [ -e "$target" ]; then mv "$target" "$target.old"; fi
    mv "$stage" "$target"
    STAGE=
    rm -rf "$target.old"
}

install_link() {
    local link="$D$BINDIR/watchdog" want="$PREFIX/bin/watchdog"
    install -d -m 0755 "$D$BINDIR"
    if [ -e "$link" ] || [ -L "$link" ]; then
        if [ "$(readlink "$link" || true)" != "$want" ]; then
            die "$BINDIR/watchdog exists and is not ours (a link to $want); move it away and" \
                "run make install again."
        fi
    fi
    ln -sfn "$want" "$link"
}

# Unprivileged ICMP sockets need the service's group inside net.ipv4.ping_group_range.
ping_raw_needed() {
    case "$PING_RAW" in
        yes) return 0 ;;
        no) return 1 ;;
        auto) ;;
        *) die "PING_RAW must be auto, yes or no, not '$PING_RAW'." ;;
    esac
    local low high gid
    read -r low high </proc/sys/net/ipv4/ping_group_range || return 0
    gid=$(getent group "$SERVICE_GROUP" | cut -d: -f3 || true)
    if [ -n "$gid" ]; then
        [ "$gid" -lt "$low" ] || [ "$gid" -gt "$high" ]
    else  # not created yet (a staged install): it will be a system group, below 1000
        [ "$low" -gt 0 ] || [ "$high" -lt 999 ]
    fi
}

install_unit() {
    local dropins="$D$UNITDIR/$NAME.service.d"
    install -d -m 0755 "$D$UNITDIR"
    install -m 0644 "$SOURCE/systemd/$NAME.service" "$D$UNITDIR/$NAME.service"
    if ping_raw_needed; then
        install -d -m 0755 "$dropins"
        install -m 0644 "$SOURCE/systemd/ping-raw.conf" "$dropins/ping-raw.conf"
        say "net.ipv4.ping_group_range does not include the group $SERVICE_GROUP: added the" \
            "drop-in $UNITDIR/$NAME.service.d/ping-raw.conf (CAP_NET_RAW)"
    else
        rm -f "$dropins/ping-raw.conf"
        rmdir "$dropins" 2>/dev/null || true
    fi
}

# The installed environment, run as the service would run it.
check_runs_as_service() {
    [ -z "$DESTDIR" ] && is_root && user_exists || return 0
    local uid
    uid=$(id -u "$SERVICE_USER")
    # shellcheck disable=SC2016  # $0 is the inner shell's
    if [ "$(run_probe "$PREFIX/bin/python")" != "$(run_probe "$PREFIX/bin/python" "$uid")" ] \
        || ! (cd / && setpriv --reuid="$uid" --regid="$(getent group "$SERVICE_GROUP" | cut -d: -f3)" \
                --clear-groups -- /bin/sh -c 'exec "$0" --version' "$PREFIX/bin/watchdog" \
                >/dev/null); then
        die "$PREFIX/bin/watchdog cannot be run by the user $SERVICE_USER; check the modes of" \
            "$PREFIX and of the Python it was made from."
    fi
}

start_service() {
    if ! systemd_running; then
        if [ -z "$DESTDIR" ]; then
            say "systemd is not running here: start it later with" \
                "systemctl enable --now $NAME (or run: watchdog run)"
        fi
        return
    fi
    systemctl daemon-reload
    systemctl enable "$NAME.service"
    # restart, not start: after an upgrade the running daemon must load the new program (and
    # migrate the database, after a backup copy); when stopped it just starts.
    systemctl restart "$NAME.service"
    say "started: systemctl status $NAME; journalctl -u $NAME"
}

do_install() {
    if [ -z "$DESTDIR" ] && ! is_root; then
        die "installing into / needs root: run sudo make install (or set DESTDIR to stage it)."
    fi
    local python
    python=$(choose_python)
    check_python "$python"
    make_user
    build_venv "$python"
    validate_config "$D$PREFIX.new/bin/python"
    install_state_dir
    install_credentials_dir
    install_config "$D$PREFIX.new/bin/python"
    install_unit
    swap_venv
    install_link
    check_runs_as_service
    start_service
    say "done: $PREFIX, $BINDIR/watchdog, $UNITDIR/$NAME.service, $CONFDIR/watchdog.toml," \
        "$STATEDIR${DESTDIR:+ (under $DESTDIR)}"
}

do_uninstall() {
    if [ -z "$DESTDIR" ] && ! is_root; then
        die "uninstalling from / needs root: run sudo make uninstall."
    fi
    if systemd_running; then
        systemctl disable --now "$NAME.service" 2>/dev/null || true
    fi
    rm -rf "$D$PREFIX" "$D$PREFIX.new" "$D$PREFIX.old"
    if [ "$(readlink "$D$BINDIR/watchdog" 2>/dev/null || true)" = "$PREFIX/bin/watchdog" ]; then
        rm -f "$D$BINDIR/watchdog"
    fi
    rm -f "$D$UNITDIR/$NAME.service" "$D$UNITDIR/$NAME.service.d/ping-raw.conf"
    rmdir "$D$UNITDIR/$NAME.service.d" 2>/dev/null || true
    rm -f "$D$SYSUSERSDIR/$NAME.conf" "$D$TMPFILESDIR/$NAME.conf"
    if [ "$PURGE" = 1 ]; then
        # The administrator's drop-ins (systemctl edit) are configuration too.
        rm -rf "$D$CONFDIR" "$D$STATEDIR" "$D/etc/systemd/system/$NAME.service.d"
        say "removed the program, $CONFDIR, its drop-ins and $STATEDIR (the database)"
    else
        say "removed the program; kept $CONFDIR and $STATEDIR (make uninstall PURGE=1 removes them)"
    fi
    if systemd_running; then systemctl daemon-reload; fi
    if [ -z "$DESTDIR" ] && user_exists; then
        say "the system user and group $SERVICE_USER stay (userdel $SERVICE_USER removes them)"
    fi
}

case "${1:-}" in
    install) do_install ;;
    uninstall) do_uninstall ;;
    *) die "usage: tools/install.sh install|uninstall (DESTDIR=, PURGE=1, SERVICE_PYTHON=, PING_RAW=)" ;;
esac
