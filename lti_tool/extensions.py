"""The shared extension objects: created here, initialised in create_app; and the per-app rate limiter.

Flask-Limiter keeps its storage on the Limiter object, so one module-level Limiter shared by several apps
(tests and benchmarks build several in one process) ends up counting every app's requests in the storage
of whichever app was built last. Each app therefore gets its own Limiter (``init_limiter``); views declare
their limits with ``rate_limit``, which only marks the view, and each app's limiter applies the marks to
its own copy of the view.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()

_LIMITS_ATTR = "_declared_rate_limits"
_EXTENSION_KEY = "cop_limiter"


def rate_limit(limit_value: str | Callable[[], str], **options: Any) -> Callable:
    """Declare a Flask-Limiter limit on a view (same arguments as ``Limiter.limit``).

    Stack several for several limits. Nothing is counted until an app's ``init_limiter`` applies them.
    """

    def decorator(view: Callable) -> Callable:
        declared = list(getattr(view, _LIMITS_ATTR, ()))
        setattr(view, _LIMITS_ATTR, [*declared, (limit_value, options)])
        return view

    return decorator


def init_limiter(app: Flask) -> Limiter:
    """Build this app's limiter (its own storage) and apply the limits its views declare.

    Call it once every blueprint is registered: the views are wrapped in ``app.view_functions`` only, so
    another app built from the same blueprints gets its own wrappers around the same view functions.
    """
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    if app.config.get("REDIS_URL") and app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    limiter = Limiter(key_func=get_remote_address, default_limits=[])
    limiter.init_app(app)
    app.extensions[_EXTENSION_KEY] = limiter
    # One wrapper per view function, even when several endpoints serve it: Flask-Limiter files limits
    # under the function's name, so wrapping it twice would count each request twice.
    wrappers: dict[int, Callable] = {}
    for endpoint, view in list(app.view_functions.items()):
        declared = getattr(view, _LIMITS_ATTR, ())
        if not declared:
            continue
        if id(view) not in wrappers:
            wrapped = view
            for limit_value, options in declared:
                wrapped = limiter.limit(limit_value, **options)(wrapped)
            wrappers[id(view)] = wrapped
        app.view_functions[endpoint] = wrappers[id(view)]
    return limiter


def limiter_for(app: Flask | None = None) -> Limiter:
    """The rate limiter of ``app`` (default: the current app)."""
    return (app or current_app).extensions[_EXTENSION_KEY]


def retry_after_seconds() -> int | None:
    """Seconds until the limit this request broke lets requests through again (None outside a limit)."""
    limiter = current_app.extensions.get(_EXTENSION_KEY)
    limit = limiter.current_limit if limiter is not None else None
    if limit is None:
        return None
    return max(1, int(limit.reset_at - time.time()))
