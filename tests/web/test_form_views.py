"""Every create and edit view built from a ``FormSpec`` (``web.views.edit.create_view`` / ``edit_view``)
keeps the visibility rule: another manager's account, plan or object is a 404 on GET and on POST."""

from django.urls import reverse

from service_plans.models import Need
from service_plans.services import plans as plan_services
from service_plans.services import whitespace as whitespace_services
from tests.factories import AccountFactory, ContactFactory, ContractFactory, InvoiceFactory, MeetingFactory, TeamMemberFactory
from web.urls import urlpatterns

KINDS = ["contact", "contract", "invoice", "meeting", "team_member", "objective", "action", "whitespace_cell", "need"]


def _generated_urls(account) -> dict[str, str]:
    """URL name → URL of every generated view: a create view at its parent, an edit view at its object."""
    plan = plan_services.plan_create(account=account, fiscal_year=2026)
    objects = {
        "account": account,
        "plan": plan,
        "contact": ContactFactory(account=account),
        "contract": ContractFactory(account=account),
        "invoice": InvoiceFactory(account=account),
        "meeting": MeetingFactory(account=account),
        "team_member": TeamMemberFactory(account=account),
        "objective": plan_services.objective_create(plan=plan, title="O"),
        "action": plan_services.action_create(plan=plan, title="A"),
        "whitespace_cell": whitespace_services.whitespace_cell_create(plan=plan, buying_centre="HQ", offering="Parts"),
        "need": Need.objects.create(account=account, description="N"),
    }
    urls = {}
    for pattern in urlpatterns:
        spec = getattr(pattern.callback, "form_spec", None)
        if spec is None:
            continue
        target = objects[spec.parent.name] if pattern.name.endswith("_create") else objects[spec.name]
        urls[pattern.name] = reverse(f"web:{pattern.name}", args=[target.pk])
    return urls


def test_every_generated_form_is_a_404_for_another_manager(client, account_manager, other_manager):
    urls = _generated_urls(AccountFactory(owner=account_manager))
    assert sorted(urls) == sorted(f"{kind}_{view}" for kind in KINDS for view in ("create", "edit"))
    client.force_login(account_manager)  # the URLs name the owner's objects: each form opens for the owner
    assert {name: client.get(url).status_code for name, url in urls.items()} == dict.fromkeys(urls, 200)
    client.force_login(other_manager)
    assert {name: client.get(url).status_code for name, url in urls.items()} == dict.fromkeys(urls, 404)
    assert {name: client.post(url, {"version": 1}).status_code for name, url in urls.items()} == dict.fromkeys(urls, 404)
