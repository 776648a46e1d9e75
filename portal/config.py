"""Environment-driven configuration."""
import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("PORTAL_INSTANCE_DIR", BASE_DIR / "instance"))


def _dev_secret_key() -> str:
    """Generate once and keep under instance/ so sessions survive restarts."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


KEY_COMMAND = "python3 -c 'import secrets; print(secrets.token_hex(32))'"
# Values that have shipped in examples and documentation: never accepted in production.
EXAMPLE_KEYS = {"change-me-to-64-random-characters", "change-me", "changeme", "secret", "dev", "development"}


def secret_key_problem(key: str | None) -> str | None:
    """Why a key is too weak for production, or None."""
    if not key:
        return "is not set"
    if key.strip().casefold() in EXAMPLE_KEYS or "change-me" in key.casefold():
        return "is the example value"
    if len(key) < 32:
        return "is shorter than 32 characters"
    if len(set(key)) < 12:
        return "has too little variety (repeated characters)"
    return None


class Config:
    """Safe development defaults, everything overridable from the environment."""

    ENV_NAME = os.environ.get("PORTAL_ENV", "development")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'portal.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    TIMEZONE = os.environ.get("PORTAL_TIMEZONE", "Asia/Shanghai")
    BABEL_DEFAULT_LOCALE = os.environ.get("PORTAL_LOCALE", "zh_Hans_CN")
    BABEL_DEFAULT_TIMEZONE = TIMEZONE
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = {"zh_Hans_CN": "中文", "en": "English"}
    # Boards stay open all day: the CSRF token lives as long as the session.
    WTF_CSRF_TIME_LIMIT = None
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    # Photos: "local" (UPLOAD_DIR, the default) or "s3" (an S3-compatible bucket through boto3).
    PHOTO_STORAGE = os.environ.get("PHOTO_STORAGE", "local")
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "")  # empty: AWS itself
    S3_BUCKET = os.environ.get("S3_BUCKET", "")
    S3_PREFIX = os.environ.get("S3_PREFIX", "")
    S3_REGION = os.environ.get("S3_REGION", "")
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID", "")
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY", "")
    S3_ADDRESSING_STYLE = os.environ.get("S3_ADDRESSING_STYLE", "path")  # "virtual" for OSS and COS
    # With S3: "stream" through the portal, or "presign" (a redirect to a link valid PHOTO_URL_SECONDS).
    PHOTO_SERVE = os.environ.get("PHOTO_SERVE", "stream")
    PHOTO_URL_SECONDS = int(os.environ.get("PHOTO_URL_SECONDS", "300"))
    # A request body is refused beyond this (nginx's client_max_body_size says the same). It is
    # well above MAX_PHOTOS x MAX_PHOTO_BYTES so that too many or too large photos reach the form
    # checks and come back beside the field with everything typed kept.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "100")) * 1024 * 1024
    # Text fields of one form held in memory (Werkzeug's default is 500 kB): a 10 MB paste reaches
    # the form's length check and comes back with its message instead of a bare 413.
    MAX_FORM_MEMORY_SIZE = 16 * 1024 * 1024
    MAX_PHOTO_BYTES = 8 * 1024 * 1024
    MAX_PHOTOS = 5
    PHOTO_MAX_PIXELS = 50_000_000  # a header claiming more is refused before decoding (a bomb)
    PHOTO_MAX_SIDE = 2560  # stored photos are scaled down to this on their longer side
    PHOTO_THUMB_SIDE = 320
    BOARD_PAGE_SIZE = 25
    BOARD_POLL_SECONDS = 30
    # Rendered case-list pieces kept per process (portal.board.listing); 0 turns the cache off.
    LIST_CACHE_SIZE = int(os.environ.get("LIST_CACHE_SIZE", "256"))
    # What is built from the category, department and estate lists alone (choices, filter and bulk forms),
    # kept per process under the reference stamp (portal.stamp); on when the list cache is off; 0 turns it off.
    REFERENCE_CACHE_SIZE = int(os.environ.get("REFERENCE_CACHE_SIZE", "256"))
    # A list counts at most this many matches ("more than N"); 0 counts them all.
    LIST_COUNT_LIMIT = int(os.environ.get("LIST_COUNT_LIMIT", "10000"))
    # A searched list counts at most this many: each hit of a common word is a row to check, and nobody
    # pages through a thousand search results (the list says "more than N · narrow the list").
    SEARCH_COUNT_LIMIT = int(os.environ.get("SEARCH_COUNT_LIMIT", "1000"))
    HTMX_CDN = True
    # Jobs: RQ when REDIS_URL is set; else an in-process runner and a ticker thread.
    JOBS_SYNC = False
    JOBS_TICKER = os.environ.get("PORTAL_JOBS_TICKER", "1") == "1"
    JOB_TIMEOUT = 300
    JOB_RETRY_INTERVALS = (10, 60, 300)
    # A job's hold: a claim (or hand-off) older than this is taken to be a dead runner's.
    JOB_LEASE_SECONDS = int(os.environ.get("JOB_LEASE_SECONDS", "360"))
    JOB_KEEP_DAYS = 7  # done jobs are deleted after this many days
    # A monthly report run not finished after this long has died: it is marked failed.
    REPORT_RUN_TIMEOUT = 1800
    # Notifications: a claim older than the lease is taken to be a dead worker's.
    NOTIFY_LEASE_SECONDS = int(os.environ.get("NOTIFY_LEASE_SECONDS", "120"))
    # Waits after each failed attempt (seconds); after the last one a delivery is 'failed' and a
    # manager retries it. The default waits 1, 2, 5, 15, 30 min, 1, 2 and 4 h: it outlasts an
    # outage of several hours (about 8 h in all).
    NOTIFY_RETRY_DELAYS = tuple(int(x) for x in os.environ.get(
        "NOTIFY_RETRY_DELAYS", "60,120,300,900,1800,3600,7200,14400").split(","))
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "file")  # file, console or smtp
    MAIL_FROM = os.environ.get("MAIL_FROM", "portal@localhost")
    SMTP_HOST = os.environ.get("SMTP_HOST", "localhost")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
    SMTP_USER = os.environ.get("SMTP_USER", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_STARTTLS = os.environ.get("SMTP_STARTTLS", "0") == "1"
    SMTP_TIMEOUT = float(os.environ.get("SMTP_TIMEOUT", "20"))
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "file")  # file, log, aliyun or tencent (docs/channels.md)
    # A gateway's account, signature (签名) and templates per kind of notification (JSON).
    SMS_ACCESS_KEY_ID = os.environ.get("SMS_ACCESS_KEY_ID", "")
    SMS_ACCESS_KEY_SECRET = os.environ.get("SMS_ACCESS_KEY_SECRET", "")
    SMS_SIGN_NAME = os.environ.get("SMS_SIGN_NAME", "")
    SMS_APP_ID = os.environ.get("SMS_APP_ID", "")  # Tencent: the SmsSdkAppId
    SMS_REGION = os.environ.get("SMS_REGION", "")  # default cn-hangzhou (Aliyun), ap-guangzhou (Tencent)
    SMS_ENDPOINT = os.environ.get("SMS_ENDPOINT", "")  # default: the gateway's public address
    SMS_TEMPLATES = json.loads(os.environ.get("SMS_TEMPLATES", "{}") or "{}")
    SMS_TIMEOUT = float(os.environ.get("SMS_TIMEOUT", "10"))
    # WeChat service account (公众号): template messages to residents who linked their openid.
    WECHAT_APP_ID = os.environ.get("WECHAT_APP_ID", "")
    WECHAT_APP_SECRET = os.environ.get("WECHAT_APP_SECRET", "")
    WECHAT_API = os.environ.get("WECHAT_API", "https://api.weixin.qq.com")
    WECHAT_TEMPLATES = json.loads(os.environ.get("WECHAT_TEMPLATES", "{}") or "{}")
    # Seconds a webhook receiver has to answer; longer counts as an unknown outcome (resent, same event id).
    WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "10"))
    OUTBOX_DIR = os.environ.get("OUTBOX_DIR", str(INSTANCE_DIR / "outbox"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Reverse proxies in front of the portal (nginx: 1); their X-Forwarded-* headers are trusted.
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
    # Login attempts: only failures count, per account and per client address.
    LOGIN_LIMIT_ACCOUNT = os.environ.get("LOGIN_LIMIT_ACCOUNT", "5 per 5 minutes;20 per day")
    LOGIN_LIMIT_ADDRESS = os.environ.get("LOGIN_LIMIT_ADDRESS", "30 per 10 minutes")
    # SMS sign-in codes: sends per number and per address, wrong codes per address.
    SMS_LIMIT_NUMBER = os.environ.get("SMS_LIMIT_NUMBER", "5 per hour;10 per day")
    SMS_LIMIT_ADDRESS = os.environ.get("SMS_LIMIT_ADDRESS", "20 per hour")
    CODE_LIMIT_ADDRESS = os.environ.get("CODE_LIMIT_ADDRESS", "30 per 10 minutes")
    # The cookie's own lifetime is the longest a session may last; the idle and absolute limits
    # per role are manager settings (portal/auth/sessions.py) checked on the server.
    PERMANENT_SESSION_LIFETIME = timedelta(days=365)
    # Password resets: a manager's link lasts this long; staff with an e-mail may ask for a 30-minute
    # link themselves unless e-mail only goes to the console.
    # The portal's public address for links sent by e-mail (e.g. https://portal.example.com).
    PORTAL_URL = os.environ.get("PORTAL_URL", "")
    RESET_LINK_HOURS = int(os.environ.get("RESET_LINK_HOURS", "24"))
    SELF_RESET = os.environ.get("SELF_RESET", "0" if MAIL_BACKEND == "console" else "1") == "1"
    SURVEY_LIMIT_ADDRESS = os.environ.get("SURVEY_LIMIT_ADDRESS", "30 per 10 minutes")
    RATELIMIT_HEADERS_ENABLED = True
    # Redis down: count in process memory rather than refuse every login.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True

    def __init__(self) -> None:
        key = os.environ.get("SECRET_KEY")
        if self.ENV_NAME == "production":
            problem = secret_key_problem(key)
            if problem:
                raise RuntimeError(f"SECRET_KEY {problem} (PORTAL_ENV=production). Generate one with: {KEY_COMMAND}")
            self.SESSION_COOKIE_SECURE = True
            self.REMEMBER_COOKIE_SECURE = True
            # The __Host- prefix: the browser keeps it only over HTTPS, for this host, path /.
            self.SESSION_COOKIE_NAME = "__Host-portal"
        self.SECRET_KEY = key or _dev_secret_key()


class TestConfig(Config):
    """Only what tests need to differ."""

    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SQLALCHEMY_ENGINE_OPTIONS = {}
    REDIS_URL = None
    HTMX_CDN = False
    WTF_CSRF_ENABLED = True
    JOBS_SYNC = True
    JOBS_TICKER = False

    def __init__(self) -> None:
        self.SECRET_KEY = "test-secret-key-not-for-production"
