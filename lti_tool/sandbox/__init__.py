"""A small LTI 1.3 platform (a fake LMS) served beside the tool, for `make run` and for the tests.

Never enabled in production (``SANDBOX_ENABLED``). Its tables live on their own base, outside Alembic.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from lti_tool.db import db
    from lti_tool.sandbox.models import SandboxBase
    from lti_tool.sandbox.views import bp

    app.register_blueprint(bp)
    try:  # the platform's endpoints are called by the tool and by scripts, never with a CSRF token
        from lti_tool.extensions import csrf

        csrf.exempt(bp)
    except Exception:  # pragma: no cover - a bare app without the extension
        pass
    SandboxBase.metadata.create_all(db.engine_for(app))
