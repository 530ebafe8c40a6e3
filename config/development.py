"""`make run`: SQLite, the sandbox LMS on, a fixed development secret."""
from config.default import DefaultConfig


class DevelopmentConfig(DefaultConfig):
    ENV_NAME = "development"
    SECRET_KEY = "dev-only-not-secret"
    SANDBOX_ENABLED = True
