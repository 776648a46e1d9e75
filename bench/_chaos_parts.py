"""The moving parts of bench/chaos.py: PostgreSQL that can be killed, Redis that can be restarted,
real `rq worker` processes supervised like systemd's Restart=always, and a small tmpfs.

Everything listens on loopback only and is removed when the bench ends.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pg import USER, _as_server_user, _pg_bin, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


class Postgres:
    """A throw-away PostgreSQL server that can be killed (-m immediate) and started again."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.dir = tempfile.mkdtemp(prefix="portal-chaos-pg.")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self.data, self.log, self.port = f"{self.dir}/data", f"{self.dir}/log", free_port()
        self.url = f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/postgres"
        subprocess.run(_as_server_user([str(self.bin / "initdb"), "-D", self.data, "-U", USER, "--auth=trust",
                                        "-E", "UTF8"]), check=True, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off -c max_connections=200"
        subprocess.run(_as_server_user([str(self.bin / "pg_ctl"), "-D", self.data, "-l", self.log, "-w",
                                        "-o", opts, "start"]), check=True, stdout=subprocess.DEVNULL)

    def kill(self) -> None:
        subprocess.run(_as_server_user([str(self.bin / "pg_ctl"), "-D", self.data, "-m", "immediate", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """redis-server on a fixed loopback port without persistence: a restart loses every queued job."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise SystemExit("redis-server is not installed: apt-get install -y redis-server (or scripts/test)")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="portal-chaos-redis.")
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from redis import Redis as Client
        client = Client.from_url(self.url)
        for _ in range(100):
            try:
                if client.ping():
                    break
            except Exception:
                time.sleep(0.1)
        client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def worker_commands(redis_url: str) -> dict[str, list[str]]:
    """The Procfile's worker lines (one per queue), as production runs them."""
    found = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.startswith("worker"):
            words = [redis_url if w == "$REDIS_URL" else w for w in command.split()]
            found[name] = [str(VENV_BIN / words[0]), *words[1:]]
    if not found:
        raise SystemExit("the Procfile has no worker line")
    return found


def worker_command(redis_url: str, name: str = "worker-notify") -> list[str]:
    """One worker line of the Procfile."""
    return worker_commands(redis_url)[name]


class Workers:
    """One worker per Procfile worker line, plus more on portal-notify up to `count`, each restarted
    after a second when it dies (systemd's Restart=always)."""

    def __init__(self, count: int, env: dict, redis_url: str, logdir: Path) -> None:
        lines = worker_commands(redis_url)
        self.cmds = list(lines.values()) + [lines["worker-notify"]] * max(0, count - len(lines))
        self.count, self.env, self.logdir = len(self.cmds), env, logdir
        self.procs: list[subprocess.Popen | None] = [None] * self.count
        self.started: list[float] = [0.0] * self.count
        self.refused = 0  # starts that died within two seconds (e.g. "worker name already taken")

    def _start(self, i: int) -> None:
        log = open(self.logdir / f"worker-{i}.log", "ab")
        self.procs[i] = subprocess.Popen(self.cmds[i], env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        log.close()
        self.started[i] = time.monotonic()

    def start(self) -> None:
        for i in range(self.count):
            self._start(i)

    def supervise(self) -> None:
        """Restart a dead worker (counting quick deaths as refused starts)."""
        for i, proc in enumerate(self.procs):
            if proc is not None and proc.poll() is not None:
                if time.monotonic() - self.started[i] < 2:
                    self.refused += 1
                self._start(i)

    def kill_one(self, i: int) -> None:
        proc = self.procs[i]
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the worker and its work horse, mid-job
            except ProcessLookupError:
                pass
            proc.wait(10)

    def stop(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)


def mount_tmpfs(path: Path, size: str = "4m") -> bool:
    """A small tmpfs at `path`, or False when this machine does not let us mount one."""
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return result.returncode == 0


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fill(path: Path) -> Path:
    """Fill the file system under `path` to the last byte; returns the filler to delete."""
    filler = path / "filler.bin"
    fh = open(filler, "wb", buffering=0)
    try:
        while True:
            fh.write(b"\0" * 4096)
    except OSError:  # ENOSPC: full
        pass
    finally:
        try:
            fh.close()
        except OSError:
            pass
    return filler
