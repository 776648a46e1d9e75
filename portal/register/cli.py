"""`flask import-register FILE --estate NAME [--dry-run]`: the import screen on the command line."""
from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from portal.extensions import db
from portal.models import Estate
from portal.register import bp, parse
from portal.register.apply import apply
from portal.register.service import check
from portal.timeutil import local_now


@bp.cli.command("import-register")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--estate", "estate_name", required=True, help="The estate's name, as the portal spells it.")
@click.option("--dry-run", is_flag=True, help="Check and compare only; change nothing.")
def import_register(path: Path, estate_name: str, dry_run: bool):
    """Import a property register (XLSX or CSV); nothing is written if any row is bad."""
    estate = db.session.scalar(select(Estate).where(Estate.name == estate_name))
    if estate is None:
        raise click.BadParameter(f"no estate named {estate_name!r}", param_hint="--estate")
    if path.stat().st_size > parse.MAX_BYTES:
        click.echo(f"file: {parse.too_large_message()}")
        click.echo("created=0 updated=0 unchanged=0 errors=1")
        raise SystemExit(1)
    try:
        _, plan = check(path.read_bytes(), path.name, estate, local_now().date())
    except parse.FileRefused as refused:
        click.echo(f"file: {refused}")
        click.echo("created=0 updated=0 unchanged=0 errors=1")
        raise SystemExit(1)
    by_line: dict[int, list[str]] = {}
    for p in plan.problems:
        by_line.setdefault(p.line, []).append(f"{p.column}: {p.message}" if p.column else p.message)
    for line, messages in sorted(by_line.items()):
        click.echo(f"line {line}: " + "; ".join(messages))
    if plan.problems:  # nothing is written: nothing was created, changed or left as it was
        db.session.rollback()
        click.echo(f"created=0 updated=0 unchanged=0 errors={plan.errors}")
        raise SystemExit(1)
    if not dry_run:
        apply(plan, None, path.name)
        db.session.commit()
    click.echo(plan.summary())
