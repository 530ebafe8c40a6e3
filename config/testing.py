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
    # The suite launches hundreds of times a minute from one address, as the same few people; tests of the
    # limits set the figures of config/default.py.
    RATELIMIT_LOGIN_PER_BROWSER = "100000 per minute"
    RATELIMIT_LOGIN_PER_ADDRESS = "100000 per minute"
    RATELIMIT_REGISTER = "100000 per minute"
    # Jobs run inline here, so a facilitator's launch would read the whole roster and change what other tests
    # see; tests/lti/test_roster.py turns it on for the tests of that sync.
    ROSTER_SYNC_AT_LAUNCH = False
