"""Command-line tools: demo data and accounts."""
import click
from flask import Flask, current_app, g, has_app_context
from flask.cli import with_appcontext

from portal.extensions import db


class MigrationCommands(click.Group):
    """`flask db …`: Flask-Migrate's commands, imported and bound to the app only when this group is used."""

    def _commands(self) -> click.Group:
        from flask.cli import ScriptInfo
        from flask_migrate.cli import db as migrate_commands

        from portal.extensions import init_migrations
        # The app the commands will run on: the one whose context is pushed (`with_appcontext` keeps it),
        # else the one the command line names.
        init_migrations(current_app._get_current_object() if has_app_context()
                        else click.get_current_context().ensure_object(ScriptInfo).load_app())
        return migrate_commands

    def list_commands(self, ctx):
        return self._commands().list_commands(ctx)

    def get_command(self, ctx, name):
        return self._commands().get_command(ctx, name)


@click.group("db", cls=MigrationCommands)
@click.option("-d", "--directory", default=None, help='Migration script directory (default is "migrations")')
@click.option("-x", "--x-arg", multiple=True, help="Additional arguments consumed by custom env.py scripts")
@with_appcontext
def migration_commands(directory, x_arg):
    """Database migrations (Flask-Migrate, Alembic)."""
    g.directory = directory  # what Flask-Migrate's own group sets for its commands
    g.x_arg = x_arg


def init_cli(app: Flask) -> None:
    app.cli.add_command(migration_commands)
    @app.cli.command("seed-demo")
    @click.option("--force", is_flag=True, help="Run even when PORTAL_ENV=production.")
    def seed_demo_command(force):
        """Create the demo company (two estates), accounts and ~260 cases (safe to run again)."""
        if app.config["ENV_NAME"] == "production" and not force:
            raise click.ClickException("PORTAL_ENV=production: demo accounts with a published password would "
                                       "open this installation to anyone. Use --force if you really mean it.")
        from portal.demo import seed_demo
        from portal.demo_company import account_lines
        created = seed_demo()
        click.echo(f"Demo data ready ({created} new cases).")
        for line in account_lines():
            click.echo(line)

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--role", type=click.Choice(["resident", "clerk", "department", "manager"]), required=True)
    @click.option("--name", "display_name", required=True)
    @click.option("--department", "department_code", default=None)
    @click.option("--estate", "estate_names", multiple=True, help="An estate the account works for (repeatable).")
    @click.option("--unit", "unit_label", default=None,
                  help="A resident's unit BUILDING-UNIT within --estate: they become its owner.")
    @click.option("--company", is_flag=True, help="Company-level staff: every estate.")
    @click.option("--manager-level", type=click.IntRange(1, 2), default=1,
                  help="Managers: 1 customer-service manager, 2 site manager.")
    @click.password_option()
    def create_user(username, role, display_name, department_code, estate_names, unit_label, company,
                    manager_level, password):
        """Create an account (production has no demo accounts)."""
        from portal.accounts import AccountError, create_account
        from portal.auth.passwords import policy_problem
        problem = policy_problem(password, username)
        if problem:
            raise click.BadParameter(str(problem), param_hint="--password")
        try:
            user = create_account(username, role, display_name, password, department_code=department_code,
                                  estate_names=estate_names, unit_label=unit_label, company=company,
                                  manager_level=manager_level)
        except AccountError as exc:
            raise click.UsageError(str(exc))
        db.session.commit()
        where = "company-level" if user.company_wide else ", ".join(e.name for e in user.estates)
        home = f" {user.unit.label}" if user.unit else ""
        click.echo(f"Created {username} ({role}{'; ' + where if where else ''}{home}).")

    @app.cli.command("reset-password")
    @click.argument("username")
    @click.option("--temporary", is_flag=True, help="Print a temporary password instead of a one-time link.")
    def reset_password(username, temporary):
        """Give a member of staff a one-time reset link (or a temporary password); ends their sessions."""
        from sqlalchemy import select
        from portal.auth.passwords import issue_reset_link, issue_temporary_password
        from portal.models import User
        user = db.session.scalar(select(User).filter_by(username=username))
        if user is None:
            raise click.BadParameter(f"no account {username!r}", param_hint="USERNAME")
        with app.test_request_context():
            secret = issue_temporary_password(user, None) if temporary else issue_reset_link(user, None)
        db.session.commit()
        click.echo(secret)

    @app.cli.command("doctor")
    def doctor():
        """Check configuration, database revision, Redis, workers, cron and holiday data."""
        from portal.doctor import FAIL, WARN, run_checks
        findings = run_checks(app)
        marks = {"ok": "ok  ", WARN: "WARN", FAIL: "FAIL"}
        for f in findings:
            click.echo(f"[{marks[f.level]}] {f.topic:<9} {f.message}")
        failed = sum(f.level == FAIL for f in findings)
        warned = sum(f.level == WARN for f in findings)
        click.echo(f"{failed} problem(s), {warned} warning(s)." if failed or warned else "All checks passed.")
        if failed:
            raise SystemExit(1)

    @app.cli.command("tick")
    def tick_command():
        """Run the minute tick once: scan, sweep, re-drive jobs (cron it when PORTAL_JOBS_TICKER=0)."""
        from portal.schedule import tick
        tick()
        click.echo("Tick done.")

    sla = click.Group("sla", help="Deadlines: reminders and escalations.")
    app.cli.add_command(sla)

    @sla.command("scan")
    @click.option("--at", "at", default=None, help="ISO time to scan at (default: now); naive = local time zone.")
    @click.option("--dry-run", is_flag=True, help="Only print what would fire; change nothing.")
    def sla_scan(at, dry_run):
        """Fire the reminders and escalations due by now (or --at)."""
        from datetime import datetime

        from portal.sla.alerts import LEVELS, rule_label
        from portal.sla.scan import scan
        from portal.timeutil import local_zone, to_local, utcnow
        moment = utcnow()
        if at:
            try:
                moment = datetime.fromisoformat(at)
            except ValueError:
                raise click.BadParameter("use an ISO time such as 2026-10-01T09:00", param_hint="--at")
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=local_zone())
        firings = scan(moment, dry_run=dry_run)
        for f in firings:
            due = f" due {to_local(f.due_at):%Y-%m-%d %H:%M}" if f.due_at else ""
            click.echo(f"{f.case_number}  {f.rule:<15} level {f.level} ({LEVELS[f.level]}: "
                       f"{rule_label(f.rule, f.level)}){due}")
        verb = "would fire" if dry_run else "fired"
        click.echo(f"{len(firings)} {verb} at {to_local(moment):%Y-%m-%d %H:%M %Z}.")

    @sla.command("deliver")
    def sla_deliver():
        """Hand pending e-mail and SMS deliveries to the job runner (the minute tick does this too)."""
        from portal.notify.jobs import sweep
        click.echo(f"{sweep()} deliveries re-queued.")
