"""A throw-away PostgreSQL on loopback for the benchmarks (the same recipe as scripts/test).

    with throwaway_postgres() as url: ...          # postgresql+psycopg://portal@127.0.0.1:PORT/postgres
    .venv/bin/python bench/_pg.py [--pg-set random_page_cost=1.1]   # print its URL; Ctrl-C or SIGTERM stops it

initdb in a fresh directory under /tmp (as the `postgres` system user when run
as root: initdb refuses root), a random free port, durability off (fsync,
synchronous_commit, full_page_writes: nothing here needs to survive a crash),
everything removed on exit.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

USER = "portal"


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: [int(x) for x in p.parent.parent.name.split(".") if x.isdigit()])
    if not found:
        raise SystemExit("PostgreSQL is not installed: apt-get install -y postgresql (or run scripts/test once)")
    return found[-1].parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "postgres"], check=True)
    return ["runuser", "-u", "postgres", "--", *cmd]


def _exit_on_sigterm(*_args) -> None:
    raise SystemExit(143)


@contextlib.contextmanager
def throwaway_postgres(settings: dict[str, str] | None = None) -> Iterator[str]:
    """Start a private PostgreSQL server, yield its SQLAlchemy URL, stop and delete it."""
    pgbin = _pg_bin()
    workdir = tempfile.mkdtemp(prefix="portal-bench-pg.")
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
    data, log = f"{workdir}/data", f"{workdir}/log"
    port = free_port()
    options = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"} | (settings or {})
    opts = f"-h 127.0.0.1 -p {port} -k {workdir} " + " ".join(f"-c {k}={v}" for k, v in options.items())
    # A SIGTERM (e.g. from a test harness) must still run the cleanup below.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    started = False
    try:
        subprocess.run(_as_server_user([str(pgbin / "initdb"), "-D", data, "-U", USER, "--auth=trust",
                                        "-E", "UTF8"]), check=True, stdout=subprocess.DEVNULL)
        subprocess.run(_as_server_user([str(pgbin / "pg_ctl"), "-D", data, "-l", log, "-w", "-o", opts,
                                        "start"]), check=True, stdout=subprocess.DEVNULL)
        started = True
        yield f"postgresql+psycopg://{USER}@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(_as_server_user([str(pgbin / "pg_ctl"), "-D", data, "-m", "immediate", "stop"]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(workdir, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    """The benches' shared database options: an empty database by URL, or a throw-away PostgreSQL."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                       help="an empty database (PostgreSQL); default: a temp SQLite file")
    group.add_argument("--postgres", action="store_true",
                       help="start a throw-away PostgreSQL on loopback for the run (see bench/_pg.py)")
    add_setting_argument(parser)


def add_setting_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pg-set", action="append", default=[], metavar="NAME=VALUE",
                        help="a server setting for the throw-away PostgreSQL, e.g. random_page_cost=1.1 "
                             "(repeatable)")


def settings(args: argparse.Namespace) -> dict[str, str]:
    """--pg-set NAME=VALUE pairs as a dict."""
    return dict(pair.split("=", 1) for pair in getattr(args, "pg_set", []))


@contextlib.contextmanager
def database_url(args: argparse.Namespace) -> Iterator[str | None]:
    """The URL the bench should use: a throw-away PostgreSQL, the given URL, or None (SQLite)."""
    if getattr(args, "postgres", False):
        with throwaway_postgres(settings(args)) as url:
            yield url
    else:
        yield args.database_url


def settle(engine) -> None:
    """On PostgreSQL, after a bulk fill: VACUUM ANALYZE (planner statistics, visibility map).

    Autovacuum gets there within a minute or so in production; measuring right
    after inserting 100k rows would otherwise see stale estimates and no
    index-only scans (those need the visibility map). SQLite: nothing here
    (bench/report.py runs its own ANALYZE).
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_setting_argument(parser)
    with throwaway_postgres(settings(parser.parse_args())) as url:
        print(url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
