#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server: Debian's postgresql binaries (scripts/setup.sh
# --test installs them), a new cluster in a temporary folder, owned by and run as a non-root user (the
# package's postgres user when this runs as root), listening on 127.0.0.1 only at a free port, with trust
# authentication for the role nestprobe. The command sees NESTPROBE_TEST_POSTGRES, the URL of the
# cluster's admin database; the server is stopped and its folder removed when the command ends, however
# it ends. Usage: scripts/with-postgres.sh COMMAND [ARGS…]
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "with-postgres: no PostgreSQL server binaries under /usr/lib/postgresql (run scripts/setup.sh --test)" >&2
    exit 1
fi
dir=$(mktemp -d /tmp/nestprobe-pg.XXXXXX)
as=()
if [ "$(id -u)" = 0 ]; then
    owner=postgres
    id -u "$owner" >/dev/null 2>&1 || owner=nobody
    chown "$owner" "$dir"
    as=(runuser -u "$owner" --)
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

stop() {
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT

"${as[@]}" "$bin/initdb" -D "$dir/data" -U nestprobe --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
}
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50" start >/dev/null || {
    cat "$dir/server.log" >&2
    exit 1
}
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (cluster in $dir)" >&2
export NESTPROBE_TEST_POSTGRES="postgres://nestprobe@127.0.0.1:$port/postgres"
export NESTPROBE_TEST_POSTGRES_BIN="$bin"
"$@"
