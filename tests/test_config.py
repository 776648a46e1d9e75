"""Configuration from the environment, with safe defaults and a strict production mode."""
import importlib

import pytest

from portal import config as config_module


def _reload(monkeypatch, tmp_path, **env):
    monkeypatch.setenv("PORTAL_INSTANCE_DIR", str(tmp_path))
    for key in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PORTAL_ENV", "PORTAL_TIMEZONE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return importlib.reload(config_module)


@pytest.fixture(autouse=True)
def restore_config_module():
    yield
    importlib.reload(config_module)


def test_development_defaults_are_embedded(monkeypatch, tmp_path):
    mod = _reload(monkeypatch, tmp_path)
    cfg = mod.Config()
    assert cfg.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'portal.db'}"
    assert cfg.REDIS_URL is None
    assert cfg.TIMEZONE == "Asia/Shanghai"
    assert cfg.BABEL_DEFAULT_LOCALE == "zh_Hans_CN"
    assert cfg.WTF_CSRF_TIME_LIMIT is None


def test_development_secret_key_is_generated_once_and_kept(monkeypatch, tmp_path):
    mod = _reload(monkeypatch, tmp_path)
    first = mod.Config().SECRET_KEY
    assert len(first) >= 32 and (tmp_path / "secret_key").read_text().strip() == first
    assert mod.Config().SECRET_KEY == first


STRONG = "f3c1a9e07b5d42c8961e0d7a4b2f8c35e6d09a17"


@pytest.mark.parametrize("key", ["short-but-random-Xy7", "x" * 40, "ab" * 20, "change-me-to-64-random-characters"])
def test_production_refuses_a_weak_or_example_secret_key(monkeypatch, tmp_path, key):
    mod = _reload(monkeypatch, tmp_path, PORTAL_ENV="production", SECRET_KEY=key)
    with pytest.raises(RuntimeError, match="SECRET_KEY .*secrets.token_hex"):
        mod.Config()


def test_the_env_example_ships_no_key_and_says_how_to_make_one():
    from portal.config import BASE_DIR
    text = (BASE_DIR / "deploy" / "portal.env.example").read_text()
    assert "\nSECRET_KEY=\n" in text
    assert "secrets.token_hex(32)" in text


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    mod = _reload(monkeypatch, tmp_path, PORTAL_ENV="production")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        mod.Config()
    assert not (tmp_path / "secret_key").exists()


def test_production_with_a_key_uses_it_and_secure_cookies(monkeypatch, tmp_path):
    mod = _reload(monkeypatch, tmp_path, PORTAL_ENV="production", SECRET_KEY=STRONG,
                  DATABASE_URL="postgresql+psycopg://u@db/portal", REDIS_URL="redis://127.0.0.1:6379/0")
    cfg = mod.Config()
    assert cfg.SECRET_KEY == STRONG and cfg.SESSION_COOKIE_SECURE is True
    assert cfg.SQLALCHEMY_DATABASE_URI.startswith("postgresql+psycopg://")
    assert cfg.REDIS_URL == "redis://127.0.0.1:6379/0"


def test_postgresql_connections_run_without_jit(app):
    """At a million cases JIT compiled ordinary queries for longer than they ran (docs/benchmarks.md):
    the portal's PostgreSQL engine turns it off on every connection; SQLite gets no such option."""
    from sqlalchemy import text

    from portal.extensions import db
    if db.engine.dialect.name != "postgresql":
        assert "connect_args" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        return
    assert db.session.execute(text("SHOW jit")).scalar() == "off"
