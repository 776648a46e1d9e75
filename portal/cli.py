"""Command-line tools: demo data and accounts."""
import click
from flask import Flask

from portal.extensions import db


def init_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Create the demo estate, accounts and ~200 cases (safe to run again)."""
        from portal.demo import ACCOUNTS, PASSWORD, seed_demo
        created = seed_demo()
        click.echo(f"Demo data ready ({created} new cases).")
        click.echo("Demo accounts (password for all: %s):" % PASSWORD)
        for username, name, role, dep, unit, _ in ACCOUNTS:
            where = f" {unit[0]}-{unit[1]}" if unit else (f" {dep}" if dep else "")
            click.echo(f"  {username:<10} {role.value:<10} {name}{where}")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--role", type=click.Choice(["resident", "clerk", "department", "manager"]), required=True)
    @click.option("--name", "display_name", required=True)
    @click.option("--department", "department_code", default=None)
    @click.password_option()
    def create_user(username, role, display_name, department_code, password):
        """Create an account (production has no demo accounts)."""
        from sqlalchemy import select
        from portal.models import Department, Role, User
        dep = db.session.scalar(select(Department).filter_by(code=department_code)) if department_code else None
        if role == "department" and dep is None:
            raise click.BadParameter("department accounts need --department CODE")
        user = User(username=username, display_name=display_name, role=Role(role),
                    department_id=dep.id if dep else None)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        click.echo(f"Created {username} ({role}).")
