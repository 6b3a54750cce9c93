"""Researcher API: GET /api/studies/<slug>/votes?format=csv|jsonl|parquet."""
import io
import json

import pandas as pd
import pytest

from studies.export import VOTE_COLUMNS

pytestmark = pytest.mark.django_db


@pytest.fixture
def voted(imported_study, add_vote):
    first = imported_study.comparisons.first()
    add_vote(first, "overall", "ann1", "right", external_id="PID-9")
    add_vote(first, "overall", "ann2", "tie")
    return imported_study


def download(client, query):
    response = client.get(f"/api/studies/demo-study/votes{query}")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_csv_is_the_default_and_is_an_attachment(voted, owner, client):
    client.force_login(owner)
    response, body = download(client, "")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="demo-study-votes.csv"' in response["Content-Disposition"]
    frame = pd.read_csv(io.BytesIO(body))
    assert tuple(frame.columns) == VOTE_COLUMNS and len(frame) == 2


def test_jsonl_and_parquet_downloads(voted, owner, client):
    client.force_login(owner)
    _, body = download(client, "?format=jsonl")
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert [r["choice"] for r in rows] == ["right", "tie"] and rows[0]["attention_check"] is False
    response, body = download(client, "?format=parquet")
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    assert pd.read_parquet(io.BytesIO(body))["winner"].tolist()[1] == "tie"


def test_crowd_ids_are_revealed_only_on_request(voted, owner, client):
    client.force_login(owner)
    assert b"PID-9" not in download(client, "?format=csv")[1]
    assert b"PID-9" in download(client, "?format=csv&reveal_external_ids=1")[1]


def test_an_unknown_format_gets_400_in_json(voted, owner, client):
    client.force_login(owner)
    response = client.get("/api/studies/demo-study/votes?format=xlsx")
    # the export code's own words (studies.export), no longer the view's "format must be one of ..."
    assert response.status_code == 400 and "'xlsx' is not one of csv, jsonl, parquet" in response.json()["detail"]
    assert response.json()["code"] == "invalid"


def test_outsiders_and_anonymous_users_get_nothing(voted, outsider, client):
    assert client.get("/api/studies/demo-study/votes").status_code == 403
    client.force_login(outsider)
    assert client.get("/api/studies/demo-study/votes?format=csv").status_code == 404
