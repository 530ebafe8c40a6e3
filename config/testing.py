"""The test suite: a database per run (SQLite file, or PostgreSQL from TEST_DATABASE_URL), jobs run inline."""
from config.default import DefaultConfig


class TestingConfig(DefaultConfig):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-not-secret"
    SANDBOX_ENABLED = True
    HUEY_IMMEDIATE = True
    LTI_HTTP_BACKOFF_FACTOR = 0.01
    RATELIMIT_ENABLED = True
    # The suite launches hundreds of times a minute from one address; tests of the limit lower it.
    RATELIMIT_LOGIN = "100000 per minute"
