"""Keep credentials out of logs: the signed part of image links (``/api/images/<signed>``).

An image link is a credential for one image, so every log line that could carry a request path goes
through :func:`redact_path`: gunicorn's access log (gunicorn.conf.py) and Django's own log records
(``RedactImageLinks``, a logging filter on the console handler, e.g. ``Not Found: /api/images/...``).
Query strings never reach the access log at all (it logs the path only).
"""
import logging
import re

_SIGNED_IMAGE = re.compile(r"(/api/images/)[^/\s\"']+")


def redact_path(text: str) -> str:
    """``text`` with the signed part of every image link replaced by ``-``."""
    return _SIGNED_IMAGE.sub(r"\1-", text)


class RedactImageLinks(logging.Filter):
    """Rewrites a record's message and string arguments with :func:`redact_path`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_path(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_path(a) if isinstance(a, str) else a for a in record.args)
        return True
