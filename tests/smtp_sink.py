"""A small SMTP server on loopback that speaks enough of the protocol to receive mail.

Modes: "ok" answers 250 after DATA; "slow" takes the message and then never answers (the
client's timeout fires after the message was handed over: the outcome is unknown);
"refuse" answers 554 to MAIL FROM. Every message received is kept with its Message-ID.
"""
from __future__ import annotations

import socketserver
import threading
import time
from email import message_from_bytes


class SmtpSink:
    def __init__(self, mode: str = "ok", hang_seconds: float = 30.0):
        self.mode = mode
        self.hang_seconds = hang_seconds
        self.messages: list[dict] = []
        self.refused = 0  # messages refused ("refuse" mode)
        self.lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                sink._session(self.rfile, self.wfile)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "SmtpSink":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m["message_id"] for m in self.messages]

    def _session(self, rfile, wfile) -> None:
        def say(line: str) -> None:
            wfile.write((line + "\r\n").encode())
            wfile.flush()

        say("220 sink ESMTP")
        while True:
            line = rfile.readline()
            if not line:
                return
            verb = line.decode(errors="replace").strip().upper()
            if verb.startswith(("EHLO", "HELO")):
                say("250 sink")
            elif verb.startswith("MAIL"):
                if self.mode == "refuse":
                    with self.lock:
                        self.refused += 1
                say("554 refused" if self.mode == "refuse" else "250 ok")
            elif verb.startswith("RCPT"):
                say("250 ok")
            elif verb == "DATA":
                say("354 go ahead")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = rfile.readline()
                    if not chunk:
                        return
                    data += chunk
                msg = message_from_bytes(data[:-5])
                with self.lock:
                    self.messages.append({"message_id": msg["Message-ID"], "to": msg["To"]})
                if self.mode == "slow":
                    time.sleep(self.hang_seconds)
                    return
                say("250 queued")
            elif verb == "QUIT":
                say("221 bye")
                return
            elif verb == "RSET" or verb == "NOOP":
                say("250 ok")
            else:
                say("502 not implemented")
