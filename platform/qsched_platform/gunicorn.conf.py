"""gunicorn settings for ``scripts/serve.sh`` (``make serve``), read from the environment.

- ``QSCHED_BIND`` (default ``127.0.0.1:8000``; comma-separated for several) is where it listens:
  loopback, behind nginx on the same host.
- ``WEB_CONCURRENCY`` worker processes (default 2 x cores + 1, gunicorn's own advice for sync workers).
- ``QSCHED_WEB_TIMEOUT`` seconds (default 120) before a stuck worker is killed and replaced; a bundle
  upload is imported inside its request, so this is longer than gunicorn's 30 s.
- The access log (``QSCHED_ACCESS_LOG``, default stdout; ``off`` for none) never holds secrets or
  personal data: the path without its query string (Prolific ids travel there), no Referer, and the
  signed part of image links replaced by ``-`` (qsched_platform.log_redaction: a link is a credential).
"""
import multiprocessing
import os

from gunicorn.glogging import Logger

from qsched_platform.log_redaction import redact_path

bind = [b.strip() for b in os.environ.get("QSCHED_BIND", "127.0.0.1:8000").split(",") if b.strip()]
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
timeout = int(os.environ.get("QSCHED_WEB_TIMEOUT", "120"))
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then (bounded memory growth), not all at once.
max_requests = 5000
max_requests_jitter = 500
proc_name = "qsched-web"
# gunicorn's runtime control socket (one fixed path per user by default, so two stacks on one machine
# would share it) stays off.
control_socket_disable = True

_access = os.environ.get("QSCHED_ACCESS_LOG", "-")
accesslog = None if _access.lower() in ("off", "none", "") else _access
errorlog = os.environ.get("QSCHED_ERROR_LOG", "-")
loglevel = os.environ.get("QSCHED_WEB_LOG_LEVEL", "info")
# client, time, method, path (no query), protocol, status, bytes, duration in ms
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'

class RedactingLogger(Logger):
    """gunicorn's logger, with the secret part of image links left out of the access log."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact_path(atoms.get("U") or "")
        return atoms


logger_class = RedactingLogger
