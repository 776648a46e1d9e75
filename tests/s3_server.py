"""A real S3-speaking HTTP server on loopback for the object-storage tests: moto's standalone server.

Started once per test process (`s3_endpoint` fixture in conftest) as a child process on a free
loopback port; no test reaches a network service. `S3_TEST_ENDPOINT` points the tests at a
server already running (MinIO, or one `scripts/test` started) instead.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running():
    """Yield the endpoint URL of an S3-compatible server on loopback."""
    given = os.environ.get("S3_TEST_ENDPOINT")
    if given:
        yield given
        return
    port = _free_port()
    child = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=2).close()
                break
            except OSError:
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the S3 test server (moto) did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        child.terminate()
        child.wait(20)
