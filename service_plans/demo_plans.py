"""Demo account plans for the demo's key accounts, generated per chunk by ``accounts.demo`` (EXTENSIONS).

Tiers do not exist yet when the demo is seeded (``recompute_scores`` computes them later, nightly or by
hand), so the key accounts are picked from what the generator knows: the root account of every active
group whose root buys at least ``KEY_SPEND_CNY`` a year: about one group in sixteen (a dozen or so in
a 300-account demo, some 4,500 in the 100,000-account benchmark), mostly the groups the tiering later
puts in T1, the rest in T2. Each key account gets:

- last fiscal year's plan, archived, with its objectives achieved or missed and its actions closed;
- this fiscal year's active plan, approved by the executive, with 2–4 objectives (one achieved, one
  at risk with an overdue action, the others on track or not started), actions owned by a colleague or
  by a customer contact with due dates around ``today``, a whitespace grid (buying centres × offerings,
  owned / pipeline / gap / not eligible, in the account's currency) and its QBRs: one or two held, with
  customer and internal attendees on the review's meeting and commitments from both sides (ours are
  plan actions), and the next one scheduled.

Rows are what the services would write (``plan_create``, ``objective_create``, ``action_create``,
``whitespace_cell_create``, ``review_hold``, ``review_recap_sent``, ``review_complete``): a held review
has its meeting; a complete one was held, its recap sent and the next QBR scheduled; a done action has
its completion time. Most recaps were sent; about one latest QBR in seven was not, so the "QBR follow-up
missing" alert has something to show. Everything comes from ``ctx.plans_rng``, its own stream, so the
rest of the demo is the same as before plans existed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.choices import AccountStatus, MeetingKind
from accounts.demo import RATE_CENTRES, _money
from accounts.models import Meeting
from kam.bulk import bulk_insert, next_ids
from service_plans.models import (
    AccountPlan,
    ActionSource,
    ActionStatus,
    Commitment,
    CommitmentSide,
    ObjectiveStatus,
    PlanAction,
    PlanObjective,
    PlanReview,
    PlanStatus,
    ReviewKind,
    ReviewStatus,
    WhitespaceCell,
    WhitespaceState,
)
from service_plans.services.plans import fiscal_year_bounds, fiscal_year_of

KEY_SPEND_CNY = 3_000_000  # a root buying this much a year (in CNY) is a demo key account
RECAP_MISSING_SHARE = 0.15  # latest QBRs whose recap was not sent (alert L1)
QBR_DAYS = (85, 95)  # between two held QBRs: a quarter, give or take
NEXT_QBR_DAYS = (80, 88)  # the next one is booked within the quarter (alert L1 checks the cadence)

# Objectives: (Chinese title, English title, KPI code, baseline and target drawers or None).
OBJECTIVES = [
    ("续签框架协议并扩大合作范围", "Renew the framework agreement and widen its scope", "nrr", (1.0, 1.05), (1.08, 1.2)),
    ("提升客户满意度（NPS）", "Raise the customer's NPS", "nps", (15, 35), (40, 55)),
    ("进入第二个事业部", "Win a second buying centre", "", None, None),
    ("建立高层定期沟通机制", "Set up a regular executive sponsor dialogue", "", None, None),
    ("缩短回款周期", "Shorten days sales outstanding", "dso", (60, 80), (40, 55)),
    ("启动联合创新项目", "Launch a joint innovation project", "", None, None),
    ("提高服务响应达标率", "Lift SLA attainment", "sla_attainment", (0.85, 0.92), (0.95, 0.98)),
]
ACTIONS_CN = [
    "梳理客户组织架构图", "安排技术交流会", "提交方案建议书", "组织高层拜访", "完成需求调研",
    "确认采购预算", "准备商务报价", "召开项目启动会", "整理成功案例", "安排现场演示",
]  # fmt: skip
ACTIONS_EN = [
    "Map the customer's organisation", "Run a technical workshop", "Submit the proposal", "Arrange an executive visit",
    "Complete the requirements review", "Confirm the purchasing budget", "Prepare the commercial offer",
    "Hold the project kick-off", "Write up a reference case", "Give an on-site demo",
]  # fmt: skip
CENTRES_CN = ["集团总部", "华东事业部", "华南事业部", "研发中心", "生产制造中心", "采购中心", "海外业务部"]
CENTRES_EN = ["Group HQ", "Europe division", "Asia Pacific division", "R&D centre", "Manufacturing", "Procurement", "Americas"]
OFFERINGS_CN = ["平台订阅", "实施服务", "运维支持", "培训与咨询", "数据分析"]
OFFERINGS_EN = ["Platform subscription", "Implementation services", "Managed support", "Training and advisory", "Analytics"]
COMPETITORS_CN = ["用友", "金蝶", "浪潮", "东软", "本地服务商"]
COMPETITORS_EN = ["SAP", "Oracle", "Salesforce", "Accenture", "a local integrator"]
PLAN_TEXT_CN = {
    "customer_vision": ["成为行业数字化标杆企业", "三年内营收翻番，拓展海外市场", "以客户为中心，打造高效供应链"],
    "customer_priorities": ["降本增效；数字化转型；海外扩张", "产品创新；提升交付质量", "合规经营；供应链安全"],
    "customer_kpis": ["营收增长率、毛利率、交付准时率", "客户满意度、库存周转天数", "研发投入占比、产品上市周期"],
    "challenges": ["采购流程长，决策链复杂", "预算收紧，价格压力大", "内部系统分散，整合难度高"],
    "competitors": ["主要竞争对手在价格上更有优势", "竞争对手已进入其研发部门"],
    "industry_trends": ["行业整合加速，头部企业集中采购", "国产化替代与数字化转型并行"],
    "swot_strengths": ["长期合作关系，交付口碑好", "高层关系稳固"],
    "swot_weaknesses": ["对研发部门覆盖不足", "本地服务团队人手紧张"],
    "swot_opportunities": ["新工厂建设带来增量需求", "海外业务扩张需要统一平台"],
    "swot_threats": ["竞争对手低价切入", "客户关键联系人可能变动"],
}
PLAN_TEXT_EN = {
    "customer_vision": ["Become the digital benchmark of its industry", "Double revenue in three years and grow abroad"],
    "customer_priorities": ["Cost efficiency; digital transformation; expansion abroad", "Product innovation; delivery quality"],
    "customer_kpis": ["Revenue growth, gross margin, on-time delivery", "Customer satisfaction, inventory turns"],
    "challenges": ["Long purchasing cycle with many decision makers", "Tight budgets and price pressure"],
    "competitors": ["The main competitor is cheaper", "A competitor has a foothold in R&D"],
    "industry_trends": ["Consolidation: the leaders buy centrally", "Regulation and digitalisation move together"],
    "swot_strengths": ["A long relationship and a good delivery record", "Strong executive relationships"],
    "swot_weaknesses": ["Little coverage of R&D", "A thin local service team"],
    "swot_opportunities": ["A new plant brings new demand", "Expansion abroad needs one platform"],
    "swot_threats": ["A competitor cutting prices", "Key contacts may move on"],
}
REVIEW_NOTES_CN = ["回顾了上季度交付情况与服务指标，客户对响应速度表示认可。", "讨论了明年预算与扩展计划，客户关注性价比。"]
REVIEW_NOTES_EN = ["Reviewed last quarter's delivery and service levels; the customer likes the response times.",
                   "Discussed next year's budget and the expansion plan; value for money matters most."]  # fmt: skip
REVIEW_DECISIONS_CN = ["双方同意成立联合工作组", "下季度启动试点项目"]
REVIEW_DECISIONS_EN = ["Both sides set up a joint working group", "A pilot starts next quarter"]
COMMITMENTS_OURS_CN = ["提交扩展方案与报价", "安排专家现场支持", "提供季度服务报告"]
COMMITMENTS_OURS_EN = ["Send the expansion proposal and quote", "Send an expert on site", "Share a quarterly service report"]
COMMITMENTS_THEIRS_CN = ["确认下一年度预算", "提供新工厂需求清单", "安排IT部门对接"]
COMMITMENTS_THEIRS_EN = ["Confirm next year's budget", "Share the new plant's requirements", "Introduce the IT team"]

PLAN_COLUMNS = (
    "id", "account_id", "fiscal_year", "status", "owner_id", "approved_by_id", "approved_on", *PLAN_TEXT_EN,
    "revenue_target_amount", "margin_target_amount", "currency", "share_of_wallet_target",
)  # fmt: skip
OBJECTIVE_COLUMNS = ("id", "plan_id", "title", "description", "kpi_code", "baseline", "target", "owner_id", "start_on", "due_on", "status")  # fmt: skip
ACTION_COLUMNS = ("id", "plan_id", "objective_id", "title", "owner_user_id", "owner_contact_id", "due_on", "status", "completed_at", "source")  # fmt: skip
CELL_COLUMNS = ("id", "plan_id", "buying_centre", "offering", "state", "our_annual_value", "est_total_spend", "currency", "competitor", "notes")  # fmt: skip
REVIEW_COLUMNS = ("id", "plan_id", "kind", "scheduled_on", "held_on", "status", "meeting_id", "notes", "decisions", "recap_sent_at")  # fmt: skip
COMMITMENT_COLUMNS = ("id", "review_id", "side", "text", "owner_user_id", "owner_contact_id", "due_on", "action_id")
MEETING_COLUMNS = ("id", "account_id", "kind", "occurred_at", "title", "summary", "decisions", "created_by_id")
MODELS = {
    "plan": AccountPlan,
    "objective": PlanObjective,
    "plan_action": PlanAction,
    "whitespace_cell": WhitespaceCell,
    "plan_review": PlanReview,
    "commitment": Commitment,
}


def is_key_account(account: dict[str, Any]) -> bool:
    """A demo key account: the root of an active group that buys at least KEY_SPEND_CNY a year."""
    rate = RATE_CENTRES.get(account["currency"], 1.0)
    return (
        account["parent_id"] is None and account["status"] == AccountStatus.ACTIVE and account["_spend"] * rate >= KEY_SPEND_CNY
    )


def _aware(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


class _Rows:
    """The rows of one chunk, per table."""

    def __init__(self) -> None:
        self.plans: list[tuple] = []
        self.objectives: list[tuple] = []
        self.actions: list[tuple] = []
        self.cells: list[tuple] = []
        self.reviews: list[tuple] = []
        self.commitments: list[tuple] = []
        self.meetings: list[tuple] = []
        self.meeting_contacts: list[tuple] = []
        self.meeting_users: list[tuple] = []


def _ids(ctx: Any) -> None:
    for name, model in MODELS.items():
        if name not in ctx.ids:
            ctx.ids[name] = range(next_ids(model, 1).start, 10**12)
    if "plan_meeting" not in ctx.ids:
        # After the range reserved for the chunks' meetings, so no other demo id moves.
        ctx.ids["plan_meeting"] = range(ctx.ids["meeting"].stop, 10**12)


class _KeyAccount:
    """Generates one key account's plans; ``rows`` collects them."""

    def __init__(self, ctx: Any, account: dict[str, Any], contacts: list[dict[str, Any]], rows: _Rows) -> None:
        self.ctx, self.rng, self.rows = ctx, ctx.plans_rng, rows
        self.account, self.contacts = account, contacts
        self.cn = account["_chinese"]
        self.today = ctx.today
        self.owner_id = account["owner_id"]
        self.executive_id = ctx.executive.pk

    def text(self, cn: list[str], en: list[str]) -> str:
        return self.rng.choice(cn if self.cn else en)

    def colleague_or_contact(self) -> tuple[int | None, int | None]:
        """An action's owner: mostly the account manager, sometimes the executive or a customer contact."""
        roll = self.rng.random()
        if roll < 0.25 and self.contacts:
            return None, self.rng.choice(self.contacts)["id"]
        return (self.executive_id if roll < 0.35 else self.owner_id), None

    def plan(self, year: int, status: str) -> int:
        rng, account = self.rng, self.account
        start, _end = fiscal_year_bounds(year)
        approved = min(start + dt.timedelta(days=rng.randint(5, 25)), self.today)
        texts = PLAN_TEXT_CN if self.cn else PLAN_TEXT_EN
        revenue = account["_spend"] * rng.uniform(1.05, 1.25)
        wallet = float(account["wallet_estimate_amount"]) or revenue * 4
        plan_id = self.ctx.next_id("plan")
        self.rows.plans.append(
            (
                plan_id, account["id"], year, status, self.owner_id, self.executive_id, approved,
                *(rng.choice(texts[name]) for name in PLAN_TEXT_EN),
                _money(revenue), _money(revenue * account["_margin"]), account["currency"],
                Decimal(f"{min(0.9, revenue / wallet * 1.1):.4f}"),
            )
        )  # fmt: skip
        return plan_id

    def action(
        self, plan_id: int, objective_id: int | None, due: dt.date, status: str, title: str = "", source: str = "manual"
    ) -> int:
        user_id, contact_id = self.colleague_or_contact() if source == ActionSource.MANUAL else (self.owner_id, None)
        completed = None
        if status == ActionStatus.DONE:
            # Finished on or a little before its due date, and never later than now.
            finished = min(due - dt.timedelta(days=self.rng.randint(0, 7)), self.today - dt.timedelta(days=1))
            completed = _aware(finished, 17)
        action_id = self.ctx.next_id("plan_action")
        self.rows.actions.append(
            (
                action_id, plan_id, objective_id, title or self.text(ACTIONS_CN, ACTIONS_EN), user_id, contact_id, due,
                status, completed, source,
            )
        )  # fmt: skip
        return action_id

    def objectives(self, plan_id: int, year: int, statuses: list[str]) -> None:
        rng, today = self.rng, self.today
        start, end = fiscal_year_bounds(year)
        last_day = end - dt.timedelta(days=1)
        for status, template in zip(statuses, rng.sample(OBJECTIVES, k=len(statuses)), strict=False):
            title_cn, title_en, kpi, baseline, target = template
            if status in (ObjectiveStatus.ACHIEVED, ObjectiveStatus.MISSED):
                due = min(start + dt.timedelta(days=rng.randint(90, 330)), last_day, today - dt.timedelta(days=1))
            elif status == ObjectiveStatus.AT_RISK:
                due = today + dt.timedelta(days=rng.randint(-20, 45))  # some already overdue
            elif status == ObjectiveStatus.ON_TRACK:
                due = today + dt.timedelta(days=rng.randint(60, 200))
            else:
                due = max(last_day, today + dt.timedelta(days=30))
            due = max(due, start)
            objective_id = self.ctx.next_id("objective")
            self.rows.objectives.append(
                (
                    objective_id, plan_id, title_cn if self.cn else title_en, "", kpi,
                    Decimal(f"{rng.uniform(*baseline):.2f}") if baseline else None,
                    Decimal(f"{rng.uniform(*target):.2f}") if target else None,
                    self.owner_id, start, due, status,
                )
            )  # fmt: skip
            past = lambda low, high: today - dt.timedelta(days=rng.randint(low, high))  # noqa: E731
            future = lambda low, high: today + dt.timedelta(days=rng.randint(low, high))  # noqa: E731
            done, open_, cancelled = ActionStatus.DONE, ActionStatus.OPEN, ActionStatus.CANCELLED
            if status == ObjectiveStatus.ACHIEVED:
                steps = [(min(due, past(5, 120)), done) for _ in range(rng.randint(2, 3))]
            elif status == ObjectiveStatus.MISSED:  # its unfinished step was cancelled at the year's end
                steps = [(min(due, past(5, 120)), done), (min(due, past(5, 60)), cancelled)]
            elif status == ObjectiveStatus.AT_RISK:  # one step overdue
                steps = [(past(20, 90), done), (past(3, 30), open_), (future(5, 40), open_)]
            elif status == ObjectiveStatus.ON_TRACK:
                steps = [(past(10, 90), done), (future(3, 30), open_), (future(30, 120), open_)][: rng.randint(2, 3)]
            else:
                steps = [(future(14, 60), open_), (future(45, 150), open_)]
            for due_on, action_status in steps:
                self.action(plan_id, objective_id, due_on, action_status)

    def whitespace(self, plan_id: int) -> None:
        rng, account = self.rng, self.account
        centres = rng.sample(CENTRES_CN if self.cn else CENTRES_EN, k=rng.randint(3, 4))
        offerings = rng.sample(OFFERINGS_CN if self.cn else OFFERINGS_EN, k=rng.randint(3, 4))
        cells = [(c, o) for c in centres for o in offerings if rng.random() < 0.85]
        # The first cells show every state; the rest are drawn.
        states = [WhitespaceState.OWNED, WhitespaceState.GAP, WhitespaceState.PIPELINE, WhitespaceState.NOT_ELIGIBLE]
        states += rng.choices(states, weights=[35, 30, 20, 15], k=max(0, len(cells) - len(states)))
        owned = sum(1 for s in states[: len(cells)] if s == WhitespaceState.OWNED)
        spend = account["_spend"]
        for (centre, offering), state in zip(cells, states, strict=False):
            ours, total, competitor, notes = Decimal("0"), Decimal("0"), "", ""
            if state == WhitespaceState.OWNED:
                share = rng.uniform(0.4, 0.9)
                ours = _money(spend / owned * rng.uniform(0.8, 1.2))
                total = _money(float(ours) / share)
                competitor = "" if share > 0.8 else self.text(COMPETITORS_CN, COMPETITORS_EN)
            elif state in (WhitespaceState.PIPELINE, WhitespaceState.GAP):
                total = _money(spend * rng.uniform(0.1, 0.6))
                competitor = self.text(COMPETITORS_CN, COMPETITORS_EN) if state == WhitespaceState.GAP else ""
            else:
                notes = "不采购此类服务" if self.cn else "Does not buy this"
            self.rows.cells.append(
                (self.ctx.next_id("whitespace_cell"), plan_id, centre, offering, state, ours, total, account["currency"],
                 competitor, notes)
            )  # fmt: skip

    def reviews(self, plans: dict[int, int]) -> None:
        """One or two held QBRs (the latest 8–75 days ago) and the next one scheduled a quarter later."""
        rng, today = self.rng, self.today
        current = plans[fiscal_year_of(today)]
        held = [today - dt.timedelta(days=rng.randint(8, 75))]
        if rng.random() < 0.6:
            held.insert(0, held[0] - dt.timedelta(days=rng.randint(*QBR_DAYS)))
        next_on = held[-1] + dt.timedelta(days=rng.randint(*NEXT_QBR_DAYS))
        for index, held_on in enumerate(held):
            latest = index == len(held) - 1
            recap = not latest or rng.random() >= RECAP_MISSING_SHARE
            # Every held QBR has a later one scheduled (the next held one, or the one booked ahead).
            status = ReviewStatus.COMPLETE if recap else ReviewStatus.HELD
            plan_id = plans.get(fiscal_year_of(held_on), current)
            notes = self.text(REVIEW_NOTES_CN, REVIEW_NOTES_EN)
            decisions = self.text(REVIEW_DECISIONS_CN, REVIEW_DECISIONS_EN)
            meeting_id = self.meeting(held_on, notes, decisions)
            review_id = self.ctx.next_id("plan_review")
            self.rows.reviews.append(
                (
                    review_id, plan_id, ReviewKind.QBR, held_on - dt.timedelta(days=rng.randint(0, 3)), held_on, status,
                    meeting_id, notes, decisions, _aware(held_on, 15) if recap else None,
                )
            )  # fmt: skip
            self.commitments(plan_id, review_id, held_on)
        # Scheduled on the current plan, even when it falls in the next fiscal year (booked before the call ended).
        self.rows.reviews.append(
            (self.ctx.next_id("plan_review"), current, ReviewKind.QBR, next_on, None, ReviewStatus.SCHEDULED, None, "", "", None)
        )

    def meeting(self, held_on: dt.date, notes: str, decisions: str) -> int:
        """The review's meeting with its customer and internal attendees (as ``review_record`` logs it)."""
        rng = self.rng
        meeting_id = self.ctx.next_id("plan_meeting")
        q = (held_on.month - 1) // 3 + 1
        title = f"季度业务回顾 Q{q}" if self.cn else f"Q{q} business review"
        self.rows.meetings.append(
            (meeting_id, self.account["id"], MeetingKind.QBR, _aware(held_on, 12), title, notes, decisions, self.owner_id)
        )
        for contact in rng.sample(self.contacts, k=min(len(self.contacts), rng.randint(1, 3))):
            self.rows.meeting_contacts.append((meeting_id, contact["id"]))
        users = {self.owner_id} | ({self.executive_id} if rng.random() < 0.5 else set())
        for user_id in sorted(users):
            self.rows.meeting_users.append((meeting_id, user_id))
        return meeting_id

    def commitments(self, plan_id: int, review_id: int, held_on: dt.date) -> None:
        rng, today = self.rng, self.today
        due = held_on + dt.timedelta(days=rng.randint(14, 30))
        text = self.text(COMMITMENTS_OURS_CN, COMMITMENTS_OURS_EN)
        # Ours becomes a plan action owned by the account manager; most of the past-due ones are done.
        status = ActionStatus.DONE if due < today and rng.random() < 0.8 else ActionStatus.OPEN
        action_id = self.action(plan_id, None, due, status, title=text, source=ActionSource.COMMITMENT)
        self.rows.commitments.append(
            (self.ctx.next_id("commitment"), review_id, CommitmentSide.OURS, text, self.owner_id, None, due, action_id)
        )
        if self.contacts:
            self.rows.commitments.append(
                (
                    self.ctx.next_id("commitment"), review_id, CommitmentSide.THEIRS,
                    self.text(COMMITMENTS_THEIRS_CN, COMMITMENTS_THEIRS_EN), None, rng.choice(self.contacts)["id"],
                    held_on + dt.timedelta(days=rng.randint(14, 45)), None,
                )
            )  # fmt: skip

    def generate(self) -> None:
        rng = self.rng
        year = fiscal_year_of(self.today)
        last = self.plan(year - 1, PlanStatus.ARCHIVED)
        self.objectives(
            last, year - 1, rng.sample([ObjectiveStatus.ACHIEVED, ObjectiveStatus.ACHIEVED, ObjectiveStatus.MISSED], k=2)
        )
        current = self.plan(year, PlanStatus.ACTIVE)
        statuses = [ObjectiveStatus.ACHIEVED, ObjectiveStatus.AT_RISK, ObjectiveStatus.ON_TRACK, ObjectiveStatus.NOT_STARTED]
        self.objectives(current, year, statuses[: rng.randint(2, 4)])
        self.whitespace(current)
        self.reviews({year - 1: last, year: current})


def extend(*, chunk: Any, ctx: Any) -> dict[str, int]:
    keys = [a for a in chunk.accounts if is_key_account(a)]
    if not keys:
        return {"account_plans": 0, "meetings": 0}
    _ids(ctx)
    contacts: dict[int, list[dict[str, Any]]] = {}
    wanted = {a["id"] for a in keys}
    for contact in chunk.contacts:
        if contact["account_id"] in wanted and contact["is_active"]:
            contacts.setdefault(contact["account_id"], []).append(contact)
    rows = _Rows()
    for account in keys:
        _KeyAccount(ctx, account, contacts.get(account["id"], []), rows).generate()
    bulk_insert(AccountPlan, PLAN_COLUMNS, rows.plans)
    bulk_insert(PlanObjective, OBJECTIVE_COLUMNS, rows.objectives)
    bulk_insert(PlanAction, ACTION_COLUMNS, rows.actions)
    bulk_insert(WhitespaceCell, CELL_COLUMNS, rows.cells)
    bulk_insert(Meeting, MEETING_COLUMNS, rows.meetings)
    bulk_insert(Meeting.contacts.through, ("meeting_id", "contact_id"), rows.meeting_contacts)
    bulk_insert(Meeting.attendees.through, ("meeting_id", "user_id"), rows.meeting_users)
    bulk_insert(PlanReview, REVIEW_COLUMNS, rows.reviews)
    bulk_insert(Commitment, COMMITMENT_COLUMNS, rows.commitments)
    return {
        "account_plans": len(rows.plans),
        "plan_objectives": len(rows.objectives),
        "plan_actions": len(rows.actions),
        "whitespace_cells": len(rows.cells),
        "plan_reviews": len(rows.reviews),
        "meetings": len(rows.meetings),  # the held reviews' meetings, counted with the others
    }
