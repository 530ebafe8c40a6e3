"""Settings shared by every environment; each named configuration below overrides a few of them.

Every setting can be overridden by an environment variable of the same name (see ``lti_tool.load_config``).
"""
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
INSTANCE_DIR = os.environ.get("LTI_TOOL_INSTANCE", os.path.join(os.path.dirname(_HERE), "instance"))


class DefaultConfig:
    ENV_NAME = "default"
    SECRET_KEY: str | None = None
    # SQLite beside the code so a newcomer needs no server; production sets a PostgreSQL URL.
    DATABASE_URL = f"sqlite:///{os.path.join(INSTANCE_DIR, 'lti_tool.sqlite3')}"
    DATABASE_ECHO = False
    # Shared state between workers (launch state, JWKS cache, rate limits). Empty: a file cache in
    # the instance folder, which every process on this machine shares.
    REDIS_URL = ""
    STATE_CACHE_DIR = os.path.join(INSTANCE_DIR, "state-cache")
    CACHE_KEY_PREFIX = "cop:"            # Redis keys; several tools may share one Redis
    HUEY_SQLITE_PATH = os.path.join(INSTANCE_DIR, "huey.sqlite3")
    HUEY_IMMEDIATE = False

    # LTI
    LTI_TOOL_TITLE = "Communities of Practice"
    LTI_TOOL_DESCRIPTION = (
        "Cohorts, live-session calendar, attendance, book-study discussions, asynchronous modules "
        "and grade passback for Communities of Practice."
    )
    LTI_JWT_LEEWAY_SECONDS = 60          # Moodle id_tokens live only 60 s; clocks drift
    LTI_LAUNCH_STATE_SECONDS = 600       # state and nonce are good this long after the login
    LTI_JWKS_CACHE_SECONDS = 3600        # platform keys; refetched once on an unknown kid
    LTI_HTTP_TIMEOUT_SECONDS = 10.0      # every request to an LMS has a timeout
    LTI_HTTP_RETRIES = 4                 # 429 / 5xx retries with backoff for AGS and NRPS
    LTI_HTTP_BACKOFF_FACTOR = 0.5
    LTI_HTTP_MAX_RETRY_AFTER = 120       # seconds; a longer Retry-After makes the job try again later
    LTI_TOOL_KEY_GRACE_SECONDS = 3600    # a retired tool key stays in the JWKS this long
    # Deployments that a known (issuer, client_id) may use without being registered first:
    # Canvas dynamic registration tells the deployment id only at the first launch.
    LTI_AUTO_REGISTER_DEPLOYMENTS = True

    # Cookies: iframe-friendly attributes are chosen per request (see lti_tool.web.IframeSessionInterface).
    SESSION_COOKIE_NAME = "cop_session"
    SESSION_COOKIE_HTTPONLY = True
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    PREFERRED_URL_SCHEME = "http"
    # Behind a TLS-terminating proxy: how many proxies to trust for X-Forwarded-* (0: none).
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0
    PROXY_FIX_X_HOST = 0
    PROXY_FIX_X_PORT = 0

    WTF_CSRF_TIME_LIMIT = 8 * 3600
    RATELIMIT_STORAGE_URI = "memory://"
    # OIDC login (/lti/login), two limits. Per browser, keyed on (client address, issuer, login_hint): one
    # person's launches, so a browser looping on the login is stopped however many share its address. Per
    # address: the whole network behind one NAT address; a district's kick-off (a few hundred people, a few
    # launches each, within a minute) stays under it, a flood that invents a login_hint per request does not.
    RATELIMIT_LOGIN_PER_BROWSER = "20 per minute"
    RATELIMIT_LOGIN_PER_ADDRESS = "1200 per minute"
    RATELIMIT_REGISTER = "60 per minute"   # LTI Dynamic Registration, per client address
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024

    # Roster sync from NRPS runs at a facilitator launch when the last one is older than this.
    ROSTER_MAX_AGE_SECONDS = 24 * 3600
    ROSTER_SYNC_AT_LAUNCH = True         # off: only the roster page's button syncs

    SANDBOX_ENABLED = False
    # Where the sandbox LMS believes it lives; empty: the URL of the request.
    SANDBOX_BASE_URL = ""

    # Book-study discussions: the longest post, and outgoing email for notifications (empty: no email).
    DISCUSSION_MAX_POST_CHARS = 20000
    SMTP_HOST = ""
    SMTP_PORT = 25
    SMTP_STARTTLS = False
    SMTP_USERNAME = ""
    SMTP_PASSWORD = ""
    SMTP_TIMEOUT_SECONDS = 10.0
    MAIL_FROM = ""

    # Asynchronous modules: uploaded resource files live outside static/, checked by size and type.
    UPLOAD_DIR = os.path.join(INSTANCE_DIR, "uploads")
    MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    ALLOWED_UPLOAD_TYPES = "pdf,png,jpg,jpeg,gif,docx,xlsx,pptx,doc,xls,ppt,txt,csv"
    # Video hosts embedded in a module (a player in an iframe); any other video link opens in a new tab.
    VIDEO_PROVIDERS = "youtube,vimeo"

    # Certificates (lti_tool/certificates): the fonts embedded in the PDF. Before a certificate is issued, every
    # character of the name (and of the other text it prints) must be in them, or nothing is issued and the lead
    # is told which characters are missing. Debian: fonts-dejavu-core; for CJK names install fonts-noto-cjk and
    # point these at /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc and -Bold.ttc.
    CERTIFICATE_FONT_REGULAR = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    CERTIFICATE_FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    # The public verification page (/verify/<code>), per client address.
    CERTIFICATE_VERIFY_RATE_LIMIT = "30 per minute"
    # The tool's public address for the verification URL a job prints on a certificate when no request tells it
    # (empty: the address of the request that led to the issue).
    PUBLIC_BASE_URL = ""

    # Protocol runs (lti_tool/protocols): how long before an asynchronous phase closes its reminder goes to those
    # who have not posted, and how often a live run's page asks the server for the clock.
    PROTOCOL_REMINDER_HOURS = 24
    PROTOCOL_POLL_SECONDS = 2
    # Tests only: a function returning the server's "now" for the protocol pages (None: the real clock).
    PROTOCOL_NOW = None
