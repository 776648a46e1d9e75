"""Whose CPU: what the machine spent during a run, split into the bench's own process trees,
other processes, and time the hypervisor gave to other guests (steal)."""
from __future__ import annotations

import os
import resource
import time
from pathlib import Path


def loadavg() -> str:
    return "/".join(Path("/proc/loadavg").read_text().split()[:3])


# -- Whose CPU: everything busy on the machine minus the bench's own process trees.

def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, utime+stime ticks) for every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def _cpu_ticks() -> tuple[int, int]:
    """(busy, stolen) ticks over all cores; stolen = the hypervisor gave the core to another guest."""
    cpu = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = cpu
    return user + nice + system + irq + softirq, steal


class CpuWatch:
    """CPU used outside the bench (other agents' tests, ...) while a measurement runs."""

    def __init__(self, roots: list[int]):
        self.roots = set(roots)

    def _ours(self) -> float:
        """Seconds of CPU: the live process trees, plus children already reaped (wrk)."""
        table = _proc_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        todo, total = list(self.roots), 0
        while todo:
            pid = todo.pop()
            if pid in table:
                total += table[pid][1]
            todo.extend(children.get(pid, []))
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        return total / os.sysconf("SC_CLK_TCK") + reaped.ru_utime + reaped.ru_stime

    def __enter__(self):
        self.t0, (self.busy0, self.steal0), self.ours0 = time.monotonic(), _cpu_ticks(), self._ours()
        return self

    def __exit__(self, *exc):
        seconds, hz = time.monotonic() - self.t0, os.sysconf("SC_CLK_TCK")
        busy, steal = _cpu_ticks()
        busy, ours = (busy - self.busy0) / hz, self._ours() - self.ours0
        self.steal_pct = 100 * (steal - self.steal0) / hz / seconds
        self.ours_pct = 100 * ours / seconds  # of one core
        self.other_pct = 100 * max(busy - ours, 0) / seconds
        self.disturbance = self.other_pct + self.steal_pct


def wait_quiet(roots: list[int], limit: float, max_wait: float) -> float:
    """Wait until others (processes outside the bench, and other guests: steal) take < `limit` % of a core.

    Measured over 3-second windows; returns the seconds waited.
    """
    start = time.monotonic()
    while True:
        with CpuWatch(roots) as cpu:
            time.sleep(3)
        if cpu.disturbance < limit or time.monotonic() - start > max_wait:
            return time.monotonic() - start
