"""Production: PostgreSQL, Redis, https behind a proxy; refuses to start without a real secret and database."""
from config.default import DefaultConfig


class ProductionConfig(DefaultConfig):
    ENV_NAME = "production"
    SANDBOX_ENABLED = False
    PREFERRED_URL_SCHEME = "https"
    PROXY_FIX_X_FOR = 1
    PROXY_FIX_X_PROTO = 1
    PROXY_FIX_X_HOST = 1
    DATABASE_URL = ""   # must come from the environment

    REQUIRED = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")
