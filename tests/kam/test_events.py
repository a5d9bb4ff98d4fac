import pytest
from django.db import transaction

from kam.events import event_published, publish, publish_many

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    seen = []

    def receiver(sender, name, payloads, **kwargs):
        seen.append((name, payloads))

    def broken(sender, **kwargs):
        raise RuntimeError("boom")

    event_published.connect(broken, dispatch_uid="test-broken")
    event_published.connect(receiver, dispatch_uid="test-receiver")
    yield seen
    event_published.disconnect(dispatch_uid="test-receiver")
    event_published.disconnect(dispatch_uid="test-broken")


def test_events_are_delivered_after_commit_only(received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        publish("contract.renewed", {"contract_id": 1})
        assert received == []
    assert received == [("contract.renewed", [{"contract_id": 1}])]


def test_rolled_back_changes_announce_nothing(received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        publish_many("account.tier_changed", [{"account_id": 1}, {"account_id": 2}])
        transaction.set_rollback(True)
    assert received == []


def test_unknown_event_type_is_refused():
    with pytest.raises(ValueError, match="unknown event type"):
        publish("account.exploded", {})
