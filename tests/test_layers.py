"""The layers of issue 19 hold: nothing imports upward (import-linter contract in .importlinter)."""
from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"
LINT = ("import sys; from importlinter import configuration; configuration.configure(); "
        "from importlinter.application.use_cases import lint_imports; "
        "sys.exit(0 if lint_imports('.importlinter', cache_dir=None, no_logo=True) else 1)")


def _lint(where: Path) -> subprocess.CompletedProcess:
    """Run the contract on the `portal` package found in `where` (a fresh process: grimp finds it there)."""
    return subprocess.run([sys.executable, "-c", LINT], cwd=where, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(where)})


def _layered() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    lines = parser["importlinter:contract:layers"]["layers"].split("\n")
    return [m.strip() for line in lines for m in line.split(":") if m.strip()]


def test_the_contract_is_kept():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_every_module_sits_in_a_layer():
    """A new module must be placed in a layer, or the contract would not see it import upward."""
    layered = _layered()
    graph = grimp.build_graph("portal", include_external_packages=False)
    missing = {m for m in graph.modules if m != "portal"
               and not any(m == name or m.startswith(name + ".") for name in layered)
               and graph.find_modules_directly_imported_by(m)}  # blueprint-only packages import nothing
    assert missing == set()


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The check can fail: a copy where the lifecycle imports a route module is refused."""
    shutil.copytree(ROOT / "portal", tmp_path / "portal", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(CONFIG, tmp_path / ".importlinter")
    lifecycle = tmp_path / "portal" / "cases" / "lifecycle.py"
    lifecycle.write_text(lifecycle.read_text() + "\n\ndef _upward():\n    from portal.board import routes  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout and "portal.cases.lifecycle -> portal.board.routes" in result.stdout
