"""gunicorn settings for the portal; every value can be overridden from the environment.

    gunicorn -c deploy/gunicorn.conf.py app:app
"""
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Requests spend most of their time waiting for PostgreSQL: a few threads per process.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Restart workers now and then so a slow leak can never take the site down.
max_requests = 5000
max_requests_jitter = 500
# nginx on the same host speaks plain HTTP to us; the app trusts X-Forwarded-* (PROXY_COUNT).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("ACCESS_LOG", "-")
errorlog = "-"
