"""gunicorn with the project's config (platform/qsched_platform/gunicorn.conf.py) serves the app and keeps
secrets out of its access log: no query strings (Prolific ids), no signed part of image links."""
import urllib.error
import urllib.request

import pytest

from annotate.image_links import image_link_path

from tests.platform.live_processes import log_tail, start_gunicorn, stop_group

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_access_log_has_paths_without_query_strings_or_image_link_secrets(make_live_study, tmp_path):
    import uuid

    make_live_study()
    master, port = start_gunicorn(tmp_path, workers=1)
    image_path = image_link_path(uuid.uuid4(), "left")
    secret = image_path.rsplit("/", 1)[1]
    try:
        for path in ("/a/demo/?PROLIFIC_PID=pid-secret-123&STUDY_ID=st-1", image_path):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30).read()
            except urllib.error.HTTPError:
                pass  # the unknown assignment's image is a 404; only the log line matters
    finally:
        stop_group(master)
    log = log_tail(master, 20000)
    assert '"GET /a/demo/ HTTP/1.1" 200' in log and '"GET /api/images/- HTTP/1.1" 404' in log, log
    assert "pid-secret-123" not in log and "PROLIFIC_PID" not in log and secret not in log
