"""Environment-driven configuration."""
import os
import secrets
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
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "40")) * 1024 * 1024
    MAX_PHOTO_BYTES = 8 * 1024 * 1024
    MAX_PHOTOS = 5
    BOARD_PAGE_SIZE = 25
    BOARD_POLL_SECONDS = 30
    HTMX_CDN = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"

    def __init__(self) -> None:
        key = os.environ.get("SECRET_KEY")
        if self.ENV_NAME == "production":
            if not key or len(key) < 16:
                raise RuntimeError(
                    "SECRET_KEY must be set (16+ characters) when PORTAL_ENV=production"
                )
            self.SESSION_COOKIE_SECURE = True
            self.REMEMBER_COOKIE_SECURE = True
        self.SECRET_KEY = key or _dev_secret_key()


class TestConfig(Config):
    """Only what tests need to differ."""

    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SQLALCHEMY_ENGINE_OPTIONS = {}
    REDIS_URL = None
    HTMX_CDN = False
    WTF_CSRF_ENABLED = True

    def __init__(self) -> None:
        self.SECRET_KEY = "test-secret-key-not-for-production"
