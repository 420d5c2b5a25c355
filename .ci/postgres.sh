# Sourced by .ci/run: starts a throwaway PostgreSQL cluster for the tests
# and exports HERALD_TEST_POSTGRES_URL. The cluster lives in a temporary
# directory, listens on a free loopback port (its unix socket stays in
# that directory too) and is stopped and removed by stop_postgres, which
# start_postgres registers as an EXIT trap.
#
# Standalone: `source .ci/postgres.sh && start_postgres` (bash).

pg_bin_dir() {
  local d
  for d in /usr/local/bin /usr/lib/postgresql/*/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

start_postgres() {
  local bin
  if ! bin=$(pg_bin_dir); then
    echo "-- installing postgresql"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bin=$(pg_bin_dir) || { echo "postgresql installed but initdb not found" >&2; return 1; }
  fi
  PG_DIR=$(mktemp -d /tmp/herald-pg.XXXXXX)
  chmod 755 "$PG_DIR"
  # initdb refuses to run as root: run the cluster as the postgres user
  # (created by the Debian package; created here when missing).
  PG_AS=()
  if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    fi
    chown postgres "$PG_DIR"
    PG_AS=(runuser -u postgres --)
  fi
  # A free loopback port, chosen by the kernel.
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
    || echo $((20000 + RANDOM % 20000)))
  "${PG_AS[@]}" "$bin/initdb" -D "$PG_DIR/data" -U herald --auth=trust -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 \
    || { cat "$PG_DIR/initdb.log" >&2; return 1; }
  PG_CTL=("${PG_AS[@]}" "$bin/pg_ctl" -D "$PG_DIR/data")
  trap stop_postgres EXIT
  # fsync stays on: the store's durability is part of what is tested.
  "${PG_CTL[@]}" -w -t 60 -l "$PG_DIR/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_DIR -c max_connections=300" start >/dev/null \
    || { cat "$PG_DIR/server.log" >&2; return 1; }
  "$bin/postgres" --version 2>/dev/null || true
  export HERALD_TEST_POSTGRES_URL="postgres://herald@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
  echo "-- postgres on 127.0.0.1:$PG_PORT ($PG_DIR)"
}

stop_postgres() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    "${PG_CTL[@]}" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
