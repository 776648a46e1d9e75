"""`flask api-key create NAME --estate NAME --allow cases:create,...`: scripted set-up of an integration."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from portal.extensions import db


def init_cli(app: Flask) -> None:
    group = AppGroup("api-key", help="Integration keys for the API.")

    @group.command("create")
    @click.argument("name")
    @click.option("--estate", "estate_names", multiple=True, required=True, help="An estate the key may touch (repeatable).")
    @click.option("--allow", "allow", required=True,
                  help="Comma-separated: cases:create,cases:read,callbacks:record,callers:lookup")
    @click.option("--rate", type=click.IntRange(1, 100000), default=None, help="Calls per minute (default: the setting).")
    def create(name, estate_names, allow, rate):
        """Issue a key; the key itself is printed once, on the last line."""
        from portal.accounts import AccountError, _estates
        from portal.api.keys import ApiKeyError, issue, parse_permissions
        try:
            estates = _estates(estate_names)
            key, secret = issue(name, estates, parse_permissions(allow), None, rate)
        except (AccountError, ApiKeyError) as exc:
            raise click.UsageError(str(exc))
        from portal import audit
        audit.record(None, "api_key", key.id, "create", after={"name": key.name, "permissions": key.permissions,
                                                              "estates": [e.name for e in estates]})
        db.session.commit()
        click.echo(f"Key {key.name!r} ({key.prefix}) for {', '.join(e.name for e in estates)}: {key.permissions}")
        click.echo(secret)

    @group.command("revoke")
    @click.argument("prefix")
    def revoke_command(prefix):
        """Revoke the key with this prefix (shown in the list)."""
        from portal.api.keys import revoke
        from portal.models import ApiKey
        key = db.session.scalar(db.select(ApiKey).filter_by(prefix=prefix))
        if key is None:
            raise click.UsageError(f"no key {prefix!r}")
        revoke(key)
        db.session.commit()
        click.echo(f"Revoked {key.name!r} ({key.prefix}).")

    app.cli.add_command(group)
