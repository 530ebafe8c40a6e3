"""Communities of Practice, an LTI 1.3 tool. ``create_app`` is the only place that wires the app together."""
from __future__ import annotations

import importlib
import logging
import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIG_CLASSES = {
    "development": "config.development.DevelopmentConfig",
    "testing": "config.testing.TestingConfig",
    "production": "config.production.ProductionConfig",
}


class ConfigurationError(RuntimeError):
    pass


def _coerce(current: Any, raw: str) -> Any:
    if isinstance(current, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    return raw


def load_config(app: Flask, config: str | object | None, overrides: dict[str, Any] | None = None) -> None:
    """Load a named configuration (or an object), then let environment variables override any setting."""
    name = config if isinstance(config, str) or config is None else None
    if name is None and config is not None:
        app.config.from_object(config)
    else:
        name = name or os.environ.get("LTI_TOOL_CONFIG", "development")
        if name not in CONFIG_CLASSES:
            raise ConfigurationError(f"unknown LTI_TOOL_CONFIG {name!r}; use one of {', '.join(CONFIG_CLASSES)}")
        module, cls = CONFIG_CLASSES[name].rsplit(".", 1)
        app.config.from_object(getattr(importlib.import_module(module), cls))
    for key in list(app.config):
        if key.isupper() and key in os.environ:
            app.config[key] = _coerce(app.config[key], os.environ[key])
    app.config.update(overrides or {})
    if app.config.get("ENV_NAME") == "production":
        missing = [k for k in app.config.get("REQUIRED", ()) if not app.config.get(k)]
        if app.config.get("SECRET_KEY") in (None, "", "dev-only-not-secret", "testing-not-secret"):
            missing.append("SECRET_KEY (a real one)")
        if str(app.config.get("DATABASE_URL", "")).startswith("sqlite"):
            missing.append("DATABASE_URL (PostgreSQL, not SQLite)")
        if missing:
            raise ConfigurationError("production refuses to start without: " + ", ".join(dict.fromkeys(missing)))
    if not app.config.get("SECRET_KEY"):
        raise ConfigurationError("SECRET_KEY is not set")


def create_app(config: str | object | None = None, **overrides: Any) -> Flask:
    """Build the app from a named configuration (default: LTI_TOOL_CONFIG), environment variables,
    then ``overrides`` (tests use them for their own database and cache)."""
    app = Flask(
        __name__,
        template_folder=os.path.join(_ROOT, "templates"),
        static_folder=os.path.join(_ROOT, "static"),
    )
    load_config(app, config, overrides)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if any(app.config[k] for k in ("PROXY_FIX_X_FOR", "PROXY_FIX_X_PROTO", "PROXY_FIX_X_HOST", "PROXY_FIX_X_PORT")):
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=app.config["PROXY_FIX_X_FOR"], x_proto=app.config["PROXY_FIX_X_PROTO"],
            x_host=app.config["PROXY_FIX_X_HOST"], x_port=app.config["PROXY_FIX_X_PORT"],
        )

    from lti_tool.db import db
    from lti_tool.extensions import csrf, init_limiter, login_manager
    from lti_tool.web import IframeSessionInterface, install_request_hooks

    db.init_app(app)
    csrf.init_app(app)
    app.session_interface = IframeSessionInterface()

    from lti_tool import auth, jobs
    from lti_tool.course import text, zones
    from lti_tool.lti import storage

    storage.init_app(app)
    jobs.init_app(app)
    zones.init_app(app)
    text.init_app(app)
    auth.init_app(app, login_manager)
    install_request_hooks(app)

    from lti_tool.errors import register_error_handlers

    register_error_handlers(app)

    # Importing each feature's models registers them on Base.metadata (Alembic reads it).
    from lti_tool.lti import deep_linking, launch, models as _lti_models, registration  # noqa: F401
    from lti_tool.programs import models as _program_models  # noqa: F401
    from lti_tool.calendar import models as _calendar_models  # noqa: F401
    from lti_tool.grades import delivery as _grades_tasks, models as _grades_models  # noqa: F401
    from lti_tool.attendance import models as _attendance_models  # noqa: F401
    from lti_tool.programs import views as programs_views
    from lti_tool.calendar import views as calendar_views
    from lti_tool.grades import views as grades_views

    from lti_tool import front

    for blueprint in (front.bp, launch.bp, deep_linking.bp, registration.bp, programs_views.bp,
                      *calendar_views.blueprints, grades_views.bp, jobs.bp):
        app.register_blueprint(blueprint)
    from lti_tool.attendance import views as attendance_views

    app.register_blueprint(attendance_views.bp)
    from lti_tool.modules import models as _module_models, views as modules_views  # noqa: F401

    app.register_blueprint(modules_views.bp)
    from lti_tool.lti import roster_views

    app.register_blueprint(roster_views.bp)
    from lti_tool.discussions import models as _discussion_models, views as discussions_views  # noqa: F401

    app.register_blueprint(discussions_views.bp)
    from lti_tool.course import notices as _notice_models, views as course_views  # noqa: F401

    app.register_blueprint(course_views.bp)
    from lti_tool.hours import models as _hours_models, views as hours_views  # noqa: F401
    from lti_tool.certificates import models as _certificate_models, views as certificate_views  # noqa: F401

    from lti_tool.completion import models as _completion_models, views as completion_views  # noqa: F401

    app.register_blueprint(hours_views.bp)
    app.register_blueprint(completion_views.bp)
    app.register_blueprint(certificate_views.bp)
    app.register_blueprint(certificate_views.verify_bp)
    from lti_tool.protocols import models as _protocol_models, sweep as _protocol_sweep, views as protocol_views  # noqa: F401

    app.register_blueprint(protocol_views.bp)
    from lti_tool.library import models as _library_models, views as library_views  # noqa: F401

    app.register_blueprint(library_views.bp)
    # What features tell each other (course/events.py), wired here and only here; connecting the same
    # function again (a second app in one process) is the same single receiver.
    from lti_tool.course import events
    from lti_tool.modules import book_study

    events.post_created.connect(book_study.complete_discussion_items)
    from lti_tool.certificates import issuing
    from lti_tool.completion import writes as completion_writes

    # Anything that counts changed: the completion rule is recomputed for those people after the commit.
    events.progress_changed.connect(completion_writes.on_progress_changed)

    # A person met the completion rule: their certificate is issued by a job after the commit (never in bulk).
    events.completion_changed.connect(issuing.on_completion_changed)
    from lti_tool.completion.sources import register_source as register_criterion
    from lti_tool.hours.sources import register_source
    from lti_tool.protocols.sources import completion_runs, protocol_lines

    # Protocol runs a person took part in are lines of their PD-hours ledger ("Protocols"), and a kind of
    # completion criterion.
    register_source(protocol_lines)
    from lti_tool.library.queries import completion_counts as contributions, final_product_counts

    # Approved library resources, and those in a cohort's final product, are kinds of completion criteria.
    register_criterion("contributions", "Library resources contributed (approved)", "resource", "resources",
                       "contributed and approved", "Contribute {n} more approved {units} to the library",
                       contributions)
    register_criterion("final_product", "Own resources in the cohort's final product", "resource", "resources",
                       "in the final product", "Add {n} more of your approved {units} to the final product",
                       final_product_counts)
    register_criterion("protocol_runs", "Problem-of-practice protocol runs taken part in", "protocol run",
                       "protocol runs", "taken part in", "Take part in {n} more {units}", completion_runs)
    if app.config.get("SANDBOX_ENABLED"):
        from lti_tool import sandbox

        sandbox.init_app(app)
    # After every blueprint: the limiter wraps the views that declare limits (see lti_tool.extensions).
    init_limiter(app)

    from lti_tool import cli

    cli.init_app(app)

    @app.context_processor
    def _globals():
        from lti_tool.auth import current_membership

        return {"tool_title": app.config["LTI_TOOL_TITLE"], "current_membership": current_membership()}

    return app
