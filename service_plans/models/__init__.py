"""How KAM serves each key account: team, standards, plans, delivery, alerts and playbooks.

The models live in submodules by theme; everything is importable from ``service_plans.models``.
"""

from service_plans.models.alerts import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    POSITIVE_RULES,
    PRIORITY_RANK,
    Alert,
    AlertEvent,
    AlertEventKind,
    AlertOutcome,
    AlertPriority,
    AlertStatus,
    AlertTask,
    Notification,
    PlaybookTaskTemplate,
    PlaybookTemplate,
    Rule,
    RuleConfig,
    TaskStatus,
)
from service_plans.models.delivery import (
    SCORE_RANGES,
    AccountTeamMember,
    BenchmarkCase,
    CaseApproval,
    Escalation,
    Need,
    NeedPriority,
    NeedStatus,
    Priority,
    Project,
    ProjectKind,
    ProjectStatus,
    ServiceRequest,
    ServiceRequestPause,
    ServiceRequestStatus,
    Severity,
    Survey,
    SurveyKind,
    SurveyResponse,
    TeamRole,
)
from service_plans.models.plans import (
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
    ReviewStatus,
)
from service_plans.models.standards import (
    BusinessCalendar,
    Holiday,
    ReportingLine,
    ReviewKind,
    ServiceStandard,
    SlaTarget,
)
from service_plans.models.whitespace import WhitespaceCell, WhitespaceState

__all__ = [
    "CLOSED_STATUSES", "OPEN_STATUSES", "POSITIVE_RULES", "PRIORITY_RANK", "SCORE_RANGES", "AccountPlan", "AccountTeamMember", "ActionSource",
    "ActionStatus", "Alert", "AlertEvent", "AlertEventKind", "AlertOutcome", "AlertPriority", "AlertStatus", "AlertTask",
    "BenchmarkCase", "BusinessCalendar", "CaseApproval", "Commitment", "CommitmentSide", "Escalation", "Holiday", "Need",
    "NeedPriority", "NeedStatus", "Notification", "ObjectiveStatus", "PlanAction", "PlanObjective", "PlanReview", "PlanStatus",
    "PlaybookTaskTemplate", "PlaybookTemplate", "Priority", "Project", "ProjectKind", "ProjectStatus", "ReportingLine",
    "ReviewKind", "ReviewStatus", "Rule", "RuleConfig", "ServiceRequest", "ServiceRequestPause", "ServiceRequestStatus",
    "ServiceStandard", "Severity", "SlaTarget", "Survey", "SurveyKind", "SurveyResponse", "TaskStatus", "TeamRole",
    "WhitespaceCell", "WhitespaceState",
]  # fmt: skip
