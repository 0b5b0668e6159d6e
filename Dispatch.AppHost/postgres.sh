#!/bin/sh
# The AppHost's embedded PostgreSQL: initialised on first start (superuser "dispatch" with the AppHost's generated password,
# database "dispatch"), then run on the port Aspire assigned (PGPORT), as the postgres OS user when started
# as root (PostgreSQL refuses root). Aspire starts it, watches it and stops it with the AppHost.
# Usage: postgres.sh DATA_DIR PASSWORD_FILE
set -eu
data="$1"
password_file="$2"

bindir="${DISPATCH_PG_BINDIR:-}"
[ -n "$bindir" ] || bindir="$(pg_config --bindir 2>/dev/null || true)"
[ -x "$bindir/initdb" ] || bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ ! -x "$bindir/initdb" ]; then
    echo "No PostgreSQL server on this machine. Install it (Debian/Ubuntu: apt-get install postgresql), set DISPATCH_PG_BINDIR," >&2
    echo "or point Dispatch at a database: ConnectionStrings__dispatch='Host=...;Username=...;Password=...;Database=dispatch'." >&2
    exit 2
fi

root=false
[ "$(id -u)" = 0 ] && root=true
as_server() {
    if $root; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi
}

if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data" # a half-finished initdb
    mkdir -p "$data"
    chmod 700 "$data"
    $root && chown postgres: "$data" "$(dirname "$data")"
    pwfile="$(mktemp)"
    cp "$password_file" "$pwfile"
    $root && chown postgres "$pwfile"
    if ! as_server "$bindir/initdb" -D "$data" -U dispatch --pwfile "$pwfile" --auth-host=scram-sha-256 --auth-local=scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >/dev/null; then
        rm -f "$pwfile"
        echo "initdb failed. As root the server runs as the postgres user, which must reach $data (every parent folder needs o+x)." >&2
        exit 1
    fi
    rm -f "$pwfile"
    echo "create database dispatch" | as_server "$bindir/postgres" --single -D "$data" postgres >/dev/null
    echo "PostgreSQL initialised in $data"
fi

# Not exec'd: Aspire stops a resource with SIGTERM, which PostgreSQL takes as a smart shutdown that waits for every client to
# leave (the silos and the Api, stopped at the same moment), and kills the process tree soon after. Passed on as SIGINT instead,
# a fast shutdown: sessions are ended, a checkpoint is written and the server exits cleanly, in well under a second here.
# (Started directly, not through as_server: a function in the background is a subshell, and the signal must reach the server.)
set -- "$bindir/postgres" -D "$data" -c listen_addresses=127.0.0.1 -c unix_socket_directories=
if $root; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@" & else "$@" & fi
server=$!
trap 'kill -INT "$server" 2>/dev/null' TERM INT
status=0
while kill -0 "$server" 2>/dev/null; do
    wait "$server" && status=0 || status=$? # a trapped signal ends the wait early: keep waiting for the server
done
exit "$status"
