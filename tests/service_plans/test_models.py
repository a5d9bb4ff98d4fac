import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from service_plans.models import Project, ServiceRequest, SurveyResponse
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "score", "ok"),
    [
        ("nps", 0, True),
        ("nps", 10, True),
        ("nps", 11, False),
        ("csat", 0, False),
        ("csat", 5, True),
        ("ces", 7, True),
        ("ces", 8, False),
    ],
)
def test_survey_scores_stay_in_their_scale(kind, score, ok):
    account = AccountFactory()
    response = SurveyResponse(account=account, kind=kind, score=score, responded_at=timezone.now())
    if ok:
        response.full_clean()
        response.save()
        return
    with pytest.raises(ValidationError) as exc:
        response.full_clean()
    assert "score" in exc.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        response.save()


def test_survey_contact_must_belong_to_the_account():
    contact = ContactFactory()
    with pytest.raises(ValidationError) as exc:
        SurveyResponse(account=AccountFactory(), contact=contact, kind="nps", score=9, responded_at=timezone.now()).full_clean()
    assert "contact" in exc.value.message_dict


def test_service_request_times_are_ordered():
    account = AccountFactory()
    now = timezone.now()
    request = ServiceRequest(account=account, opened_at=now, first_response_at=now - dt.timedelta(minutes=1))
    with pytest.raises(ValidationError) as exc:
        request.full_clean()
    assert "first_response_at" in exc.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        request.save()


def test_project_end_after_start():
    with pytest.raises(IntegrityError), transaction.atomic():
        Project.objects.create(account=AccountFactory(), name="X", started_on=dt.date(2025, 5, 1), ended_on=dt.date(2025, 4, 1))
