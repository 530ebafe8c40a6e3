"""Flask commands: `platforms add/list/remove`, `keys rotate/list`, `db upgrade/current/revision`, and
`sandbox setup` (the demo LMS, only where SANDBOX_ENABLED).

Run them as `flask --app wsgi <group> <command>`; Flask's CLI pushes the app context, so `db.session` is ready.
"""
from __future__ import annotations

import datetime as dt
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from lti_tool.db import db, utcnow
from lti_tool.errors import DomainError

platforms_cli = AppGroup("platforms", help="LMS registrations (issuer + client id) and their deployments.")
keys_cli = AppGroup("keys", help="The tool's signing keys, published at /lti/jwks.")
db_cli = AppGroup("db", help="Database migrations (Alembic).")
sandbox_cli = AppGroup("sandbox", help="The built-in demo LMS (never in production).")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(v)) for v in column) for column in zip(headers, *rows)]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def _fail(exc: DomainError) -> click.ClickException:
    db.session.rollback()
    return click.ClickException(exc.message)


# -- platforms ------------------------------------------------------------------------------------------------

@platforms_cli.command("add")
@click.option("--issuer", required=True, help="The platform's issuer (iss), e.g. https://canvas.instructure.com.")
@click.option("--client-id", required=True, help="The client id the platform gave the tool.")
@click.option("--auth-url", required=True, help="OIDC authorization endpoint (auth login URL).")
@click.option("--token-url", required=True, help="OAuth2 token endpoint (AGS/NRPS access tokens).")
@click.option("--jwks-url", required=True, help="The platform's public keys (JWKS URL).")
@click.option("--deployment-id", "deployment_ids", multiple=True, help="A deployment id; repeat for several.")
@click.option("--name", default="", help="A name to show (default: the issuer).")
@click.option("--audience", default=None, help="aud of the token request, when not the token URL.")
@click.option("--product-family", default="", help="canvas, moodle, ... (optional).")
def platforms_add(issuer, client_id, auth_url, token_url, jwks_url, deployment_ids, name, audience, product_family):
    """Register an LTI 1.3 platform by hand."""
    from lti_tool.lti.registry import PlatformSpec, add_platform

    spec = PlatformSpec(issuer=issuer, client_id=client_id, auth_login_url=auth_url, auth_token_url=token_url,
                        key_set_url=jwks_url, deployment_ids=tuple(deployment_ids), name=name,
                        auth_audience=audience or None, product_family=product_family, registered_by="cli")
    try:
        platform = add_platform(db.session, spec)
    except DomainError as exc:
        raise _fail(exc) from None
    db.session.commit()
    deployments = ", ".join(d.deployment_id for d in platform.deployments) or "none yet"
    click.echo(f"Registered platform {platform.id}: {platform.issuer} (client_id {platform.client_id}); "
               f"deployments: {deployments}")


@platforms_cli.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include deactivated platforms.")
def platforms_list(show_all):
    """List registered platforms."""
    from lti_tool.lti.registry import list_platforms

    platforms = [p for p in list_platforms(db.session) if show_all or p.active]
    if not platforms:
        click.echo("No platforms registered." if show_all else "No active platforms registered.")
        return
    rows = [[str(p.id), p.name, p.issuer, p.client_id, ",".join(d.deployment_id for d in p.deployments) or "-",
             p.registered_by, "yes" if p.active else "no"] for p in platforms]
    click.echo(_table(["id", "name", "issuer", "client_id", "deployments", "registered_by", "active"], rows))


@platforms_cli.command("remove")
@click.option("--issuer", required=True)
@click.option("--client-id", required=True)
def platforms_remove(issuer, client_id):
    """Deactivate a platform: launches from it are refused; its users and courses are kept."""
    from lti_tool.lti.registry import remove_platform

    try:
        remove_platform(db.session, issuer, client_id)
    except DomainError as exc:
        raise _fail(exc) from None
    db.session.commit()
    click.echo(f"Deactivated {issuer} (client_id {client_id}).")


# -- keys -------------------------------------------------------------------------------------------------

@keys_cli.command("rotate")
@click.option("--grace", type=click.IntRange(min=0), default=None,
              help="Seconds the old key stays published (default: LTI_TOOL_KEY_GRACE_SECONDS).")
def keys_rotate(grace):
    """Start signing with a new key; the old one stays in the JWKS for the grace period."""
    from lti_tool.lti import keys

    seconds = current_app.config["LTI_TOOL_KEY_GRACE_SECONDS"] if grace is None else grace
    keys.signing_key(db.session)  # so a first rotation has an old key to keep publishing
    new = keys.rotate_keys(db.session, dt.timedelta(seconds=seconds))
    db.session.commit()
    until = (utcnow() + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S UTC")
    click.echo(f"New signing key: {new.kid}")
    click.echo(f"Older keys stay published until {until} ({seconds} s).")


@keys_cli.command("list")
def keys_list():
    """List the tool's keys: which one signs and which are still published."""
    from sqlalchemy import select

    from lti_tool.lti import keys
    from lti_tool.lti.models import ToolKey

    all_keys = list(db.session.scalars(select(ToolKey).order_by(ToolKey.id)))
    if not all_keys:
        click.echo("No keys yet: one is created at the first launch or JWKS request (or run `keys rotate`).")
        return
    signing = keys.signing_key(db.session)
    published = {k.id for k in keys.published_keys(db.session)}

    def when(value: dt.datetime | None) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"

    rows = [[k.kid, when(k.created_at), "signing" if k.id == signing.id else "retired",
             "yes" if k.id in published else "no", when(k.unpublish_after)] for k in all_keys]
    click.echo(_table(["kid", "created", "state", "published", "published until"], rows))


# -- db -----------------------------------------------------------------------------------------------------

def _alembic_config():
    from lti_tool.migrate import alembic_config

    cfg = alembic_config(current_app._get_current_object())
    cfg.stdout = sys.stdout  # Alembic binds the stream at import time; print where click prints now
    return cfg


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision):
    """Apply migrations up to REVISION (default: head)."""
    from lti_tool.migrate import upgrade

    upgrade(current_app._get_current_object(), revision)
    click.echo(f"Database upgraded to {revision}.")


@db_cli.command("current")
def db_current():
    """Show the revision the database is at."""
    from alembic import command

    command.current(_alembic_config(), verbose=False)


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option("--autogenerate", is_flag=True, help="Compare the models with the database.")
def db_revision(message, autogenerate):
    """Create a new migration in migrations/versions."""
    from alembic import command

    script = command.revision(_alembic_config(), message=message,
                              autogenerate=autogenerate)
    scripts = script if isinstance(script, list) else [script]
    for s in scripts:
        if s is not None:
            click.echo(f"Created {s.path}")


# -- sandbox ------------------------------------------------------------------------------------------------

def register_sandbox(session, base_url: str, tool_base_url: str | None = None):
    """Create the sandbox LMS with its demo courses and register it in the tool as a platform (idempotent).

    Flushes; the caller commits. Returns the sandbox's DemoInfo (issuer, client_id, deployment_id, URLs).
    """
    from lti_tool.lti.registry import PlatformSpec, add_platform
    from lti_tool.sandbox import services as sandbox

    info = sandbox.ensure_demo(session, base_url, tool_base_url)
    add_platform(session, PlatformSpec(
        issuer=info.issuer, client_id=info.client_id, auth_login_url=info.auth_login_url,
        auth_token_url=info.auth_token_url, key_set_url=info.key_set_url, deployment_ids=(info.deployment_id,),
        name=info.name, product_family=info.product_family, registered_by="sandbox",
    ), update=True)
    return info


@sandbox_cli.command("setup")
@click.option("--base-url", required=True,
              help="Where the tool and its sandbox are served, e.g. http://localhost:5000.")
def sandbox_setup(base_url):
    """Create the sandbox LMS and its demo course, and register it in the tool."""
    info = register_sandbox(db.session, base_url)
    from lti_tool.demo import create_demo_program
    from lti_tool.lti.registry import find_platform

    program = create_demo_program(db.session, find_platform(db.session, info.issuer, info.client_id))
    db.session.commit()
    if program is not None:
        click.echo(f"Demo program created: {program.title} {program.year_label}.")
    click.echo(f"Sandbox LMS ready: issuer {info.issuer}, client_id {info.client_id}, "
               f"deployment {info.deployment_id}.")
    click.echo(f"Open {base_url.rstrip('/')}/sandbox/ to launch the tool.")


def init_app(app: Flask) -> None:
    for group in (platforms_cli, keys_cli, db_cli):
        app.cli.add_command(group)
    if app.config.get("SANDBOX_ENABLED"):
        app.cli.add_command(sandbox_cli)
