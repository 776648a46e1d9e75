"""`flask reports backfill`: measure the time to resolve of cases resolved before migration 0005."""
import click

from portal.extensions import db
from portal.reports import bp


@bp.cli.command("backfill")
def backfill_command():
    """Measure resolved cases that have no working time to resolve yet."""
    from portal.reports.timing import backfill
    done = backfill()
    db.session.commit()
    click.echo(f"Measured {done} resolved case(s).")
