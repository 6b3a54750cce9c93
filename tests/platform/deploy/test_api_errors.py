"""qsched_platform.api_errors: every app's own refusal is answered {"detail", "code"} by the one handler."""
import pytest

from annotate.errors import Busy, StudyNotLive
from formats.bundle import BundleError
from qsched_platform.api_errors import BadRequest, exception_handler
from results.questions import QuestionError
from studies.errors import MembershipError, StudyError, StudyStateError


@pytest.mark.parametrize("exc, status, body", [
    (StudyNotLive("the study is paused", screen_out_code="OUT-1"), 403,
     {"detail": "the study is paused", "code": "study_not_live", "screen_out_code": "OUT-1"}),
    (StudyError("slug: taken"), 400, {"detail": "slug: taken", "code": "invalid"}),
    (StudyStateError("study 's' is closed"), 400, {"detail": "study 's' is closed", "code": "invalid_transition"}),
    (MembershipError("no user 'x'"), 400, {"detail": "no user 'x'", "code": "invalid_member"}),
    (QuestionError("system_a", "'z' is not a system"), 400,
     {"detail": "'z' is not a system", "code": "invalid_question", "field": "system_a"}),
    (BundleError("images[3]", "sha256", "does not match the file"), 400,
     {"detail": "images[3].sha256: does not match the file", "code": "invalid_bundle", "entry": "images[3]",
      "field": "sha256"}),
    (BadRequest("win_rate is required", code="required"), 400, {"detail": "win_rate is required", "code": "required"}),
    (BadRequest("x must be a number"), 400, {"detail": "x must be a number", "code": "invalid"}),
])
def test_each_refusal_gets_its_status_and_code(exc, status, body):
    response = exception_handler(exc, {})
    assert response.status_code == status
    assert {key: str(value) for key, value in response.data.items()} == body


def test_a_busy_refusal_says_when_to_retry():
    response = exception_handler(Busy("the database is busy"), {})
    assert (response.status_code, response.data["code"], response["Retry-After"]) == (503, "busy", "1")


def test_anything_else_is_left_to_django():
    assert exception_handler(ValueError("a bug"), {}) is None
