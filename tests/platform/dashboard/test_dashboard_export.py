"""Vote downloads from the study page: CSV, JSON Lines and Parquet in the contract's columns."""
import csv
import io
import json
from datetime import timedelta

import pandas as pd
import pytest
from django.urls import reverse
from django.utils import timezone

from annotate.models import Annotator, Assignment, Vote
from studies.models import WorkItem
from studies.services import create_study_from_bundle

from tests.platform.bundles import write_bundle

COLUMNS = ["vote_id", "study", "criterion", "annotator", "prompt", "seed", "system_left", "system_right",
           "choice", "winner", "response_ms", "created_at", "attention_check", "annotator_excluded"]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def study(owner, tmp_path):
    study = create_study_from_bundle(bundle_dir=write_bundle(tmp_path / "b", systems=("fp16", "w4a8"), n_prompts=1),
                                     slug="s1", owner=owner)
    item = WorkItem.objects.get(study=study)
    left, right = item.comparison.image_b, item.comparison.image_a  # shown the other way round
    annotator = Annotator.objects.create(study=study, pseudonym="anon-1", external_id="PROLIFIC123")
    assignment = Assignment.objects.create(annotator=annotator, work_item=item, left_image=left, right_image=right,
                                           status="voted", expires_at=timezone.now() + timedelta(minutes=10))
    Vote.objects.create(assignment=assignment, study=study, annotator=annotator, comparison=item.comparison,
                        criterion=item.criterion, system_left=left.system, system_right=right.system,
                        choice="right", winner=right.system, response_ms=1234)
    return study


def download(client, user, study, fmt):
    client.force_login(user)
    response = client.get(reverse("dashboard:study_export", args=[study.slug]), {"format": fmt})
    assert response.status_code == 200
    return response, b"".join(response.streaming_content)


def test_the_csv_download_has_the_contract_columns_and_the_vote(client, owner, study):
    response, body = download(client, owner, study, "csv")
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="s1-votes.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert list(rows[0]) == COLUMNS
    assert len(rows) == 1
    row = rows[0]
    expected_winner = study.votes.get().system_right.key
    assert (row["study"], row["choice"], row["winner"], row["response_ms"]) == ("s1", "right", expected_winner, "1234")
    assert row["annotator"] == "anon-1"  # the pseudonym, never the crowd-platform id
    assert "PROLIFIC123" not in body.decode()


def test_the_json_lines_download_has_one_object_per_vote(client, owner, study):
    response, body = download(client, owner, study, "jsonl")
    assert 's1-votes.jsonl' in response["Content-Disposition"]
    lines = body.decode().splitlines()
    assert len(lines) == 1
    vote = json.loads(lines[0])
    assert list(vote) == COLUMNS
    assert vote["choice"] == "right" and vote["criterion"] == "overall"


def test_the_parquet_download_reads_back_as_a_table(client, collaborator, study):
    study.members.add(collaborator)
    response, body = download(client, collaborator, study, "parquet")
    assert 's1-votes.parquet' in response["Content-Disposition"]
    frame = pd.read_parquet(io.BytesIO(body))
    assert list(frame.columns) == COLUMNS
    assert frame.loc[0, "response_ms"] == 1234


def test_an_unknown_format_is_a_400_naming_the_formats(client, owner, study):
    client.force_login(owner)
    response = client.get(reverse("dashboard:study_export", args=[study.slug]), {"format": "xlsx"})
    assert response.status_code == 400
    assert b"'xlsx'" in response.content and b"csv, jsonl, parquet" in response.content
