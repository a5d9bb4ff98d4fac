"""KAM settings: one file, driven by the environment.

``KAM_ENV`` selects the defaults: ``production`` (the default, secure),
``development`` (``make run``) or ``test`` (``make test``). Every other value is
read through the typed readers in ``kam.env``; see the configuration table in
README.md.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from kam.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("KAM_VAR_DIR", str(BASE_DIR / "var")))

KAM_ENV = env_str("KAM_ENV", "production")
if KAM_ENV not in {"production", "development", "test"}:
    raise ImproperlyConfigured(f"KAM_ENV must be production, development or test, got {KAM_ENV!r}")
IS_PRODUCTION = KAM_ENV == "production"

DEBUG = env_bool("DEBUG", KAM_ENV == "development")

_INSECURE_KEYS = {"", "change-me", "changeme", "secret", "django-insecure"}
SECRET_KEY = env_secret("SECRET_KEY")
if IS_PRODUCTION:
    if SECRET_KEY.strip() in _INSECURE_KEYS or SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "SECRET_KEY is missing, a placeholder or shorter than 32 characters. Set SECRET_KEY (or "
            "SECRET_KEY_FILE) to a long random value, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when KAM_ENV=production.")
elif not SECRET_KEY:
    # Development and test only: a fixed key keeps sessions valid across restarts of `make run`.
    SECRET_KEY = "django-insecure-kam-development-and-test-only-key-0123456789"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["*"] if not IS_PRODUCTION else ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "kam",
    "accounts",
    "tiering",
    "service_plans",
    "reports",
    "web",
    "imports",
    "integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kam.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes must come last: it turns a lockout into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kam.urls"
WSGI_APPLICATION = "kam.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kam.context_processors.kam",
                "web.context_processors.notifications",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
# The embedded default is a SQLite file so that `make run` needs nothing installed; production and
# the test suite use PostgreSQL (constraints, advisory locks and COPY are exercised there).
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = env_secret("DATABASE_URL", f"sqlite:///{VAR_DIR / 'kam.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE transactions avoid "database is locked" upgrades when the dev server and an
        # eager task write at once; WAL lets readers continue during a write.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that polls the socket before paying a round trip.
    DATABASES["default"]["ENGINE"] = "kam.postgresql"
if IS_POSTGRES and (pg_options := env_str("KAM_PG_OPTIONS", "-c jit=off -c random_page_cost=1.1")):
    # KAM's queries are many and short: JIT compilation costs more than it saves (it once added
    # 500 ms to a list query), and on SSD storage random reads cost about as much as sequential
    # ones, so index plans should win. Set KAM_PG_OPTIONS="" for a pooler that refuses options.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = pg_options
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------------
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "kam.cache.ResilientRedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "kam"}}

# --- Authentication -------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if KAM_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock a username from one address after repeated failures.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# --- Security -------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12, minimum=300)
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
_https = env_bool("KAM_HTTPS", IS_PRODUCTION)
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _https)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _https else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _https)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _https)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env_bool("KAM_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Django 6's built-in CSP: nothing from other origins, inline scripts only with the per-request nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_str("KAM_TIME_ZONE", "Asia/Shanghai")

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
if not IS_PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing root
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
WHITENOISE_USE_FINDERS = not IS_PRODUCTION

# --- Email ----------------------------------------------------------------------------------------
# Django 6.1's MAILERS: SMTP in production, the console (the log of `make run`) elsewhere.
_MAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if IS_PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
_MAIL_OPTIONS: dict[str, object] = {}
if _MAIL_BACKEND.endswith("smtp.EmailBackend"):
    _MAIL_OPTIONS = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25),
        "username": env_str("EMAIL_HOST_USER"),
        "password": env_secret("EMAIL_HOST_PASSWORD"),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
    }
MAILERS = {"default": {"BACKEND": _MAIL_BACKEND, "OPTIONS": _MAIL_OPTIONS}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "KAM <kam@localhost>")

# --- REST framework ------------------------------------------------------------------------------
# The API's building blocks live in kam/api/ (see its docstring); each app adds its endpoints in
# <app>/api.py. Token authentication comes first so that an anonymous call is answered 401 with a
# ``WWW-Authenticate: Token`` challenge.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "kam.api.authentication.TokenAuthentication",
        "kam.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "kam.api.permissions.TokenScopePermission",
        "kam.api.permissions.RolePermission",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "kam.api.pagination.CursorPagination",
    "DEFAULT_THROTTLE_CLASSES": ["kam.api.throttling.TokenRateThrottle", "kam.api.throttling.UserRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["kam.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "kam.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "kam.api.exceptions.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Requests per minute, per token and per user (a token's calls count against both). Throttle counts
# live in the default cache: set CACHE_URL (Redis) so that every web process shares them.
KAM_API_THROTTLE_RATES = {
    "token": env_str("KAM_API_THROTTLE_TOKEN", "1200/min"),
    "user": env_str("KAM_API_THROTTLE_USER", "2400/min"),
}
KAM_API_MAX_PAGE_SIZE = 500
KAM_API_IDEMPOTENCY_HOURS = env_int("KAM_API_IDEMPOTENCY_HOURS", 24, minimum=1)
KAM_API_TOKEN_MAX_DAYS = env_int("KAM_API_TOKEN_MAX_DAYS", 730, minimum=1)
# Seconds a looked-up API token (with its user and roles) stays in the default cache; 0 disables.
# Changes to tokens, users and groups retire the entries at once (integrations.tokens).
KAM_API_TOKEN_CACHE_SECONDS = env_int("KAM_API_TOKEN_CACHE_SECONDS", 60, minimum=0)
SPECTACULAR_SETTINGS = {
    "TITLE": "KAM API",
    "DESCRIPTION": "Key account management: accounts, contracts, service delivery, jobs and webhooks. See docs/api.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Fields called "status" or "kind" on several resources: one enum component per choice set.
    "ENUM_NAME_OVERRIDES": {
        "AccountStatusEnum": "accounts.choices.AccountStatus",
        "ContractStatusEnum": "accounts.choices.ContractStatus",
        "MeetingKindEnum": "accounts.choices.MeetingKind",
        "ServiceRequestStatusEnum": "service_plans.models.ServiceRequestStatus",
        "ProjectStatusEnum": "service_plans.models.ProjectStatus",
        "ProjectKindEnum": "service_plans.models.ProjectKind",
        "SurveyKindEnum": "service_plans.models.SurveyKind",
        "JobStatusEnum": "kam.models.JobStatus",
        "DeliveryStatusEnum": "integrations.models.DeliveryStatus",
        "TierEnum": "accounts.choices.Tier",
        "HealthBandEnum": "accounts.choices.HealthBand",
        "OverrideBandEnum": "tiering.models.BANDS",
        "ScoreStatusEnum": "tiering.choices.ScoreStatus",
        "OverrideStatusEnum": "tiering.choices.OverrideStatus",
        "TierChangeReasonEnum": "tiering.choices.TierChangeReason",
        "ImportKindEnum": "imports.models.ImportKind",
        "ImportStatusEnum": "imports.models.ImportStatus",
        "AlertStatusEnum": "service_plans.models.AlertStatus",
        "AlertClosedStatusEnum": "service_plans.api.CLOSED_ALERT_STATUS_CHOICES",
        "AlertPriorityEnum": "service_plans.models.AlertPriority",
        "TaskStatusEnum": "service_plans.models.TaskStatus",
        "PlanStatusEnum": "service_plans.models.PlanStatus",
        "ObjectiveStatusEnum": "service_plans.models.ObjectiveStatus",
        "ReviewStatusEnum": "service_plans.models.ReviewStatus",
        "NeedStatusEnum": "service_plans.models.NeedStatus",
        "NeedPriorityEnum": "service_plans.models.NeedPriority",
        "TeamRoleEnum": "service_plans.models.TeamRole",
        "RelationshipLevelEnum": "accounts.choices.RelationshipLevel",
        "InfluenceKindEnum": "accounts.choices.InfluenceKind",
        "ServiceRequestPriorityEnum": "service_plans.models.Priority",
    },
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "kam.api.schema.document_errors"],
}

# --- Webhooks -------------------------------------------------------------------------------------
# Deliveries retry with exponential backoff (base × 2^(attempt−1)) up to the maximum attempts; a
# subscription is disabled, and its owner told by email, after this many failures in a row.
KAM_WEBHOOK_TIMEOUT_SECONDS = env_int("KAM_WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1, maximum=60)
KAM_WEBHOOK_MAX_ATTEMPTS = env_int("KAM_WEBHOOK_MAX_ATTEMPTS", 8, minimum=1, maximum=20)
KAM_WEBHOOK_BACKOFF_SECONDS = env_int("KAM_WEBHOOK_BACKOFF_SECONDS", 60, minimum=1)
KAM_WEBHOOK_DISABLE_AFTER = env_int("KAM_WEBHOOK_DISABLE_AFTER", 15, minimum=1)
KAM_WEBHOOK_ALLOW_HTTP = env_bool("KAM_WEBHOOK_ALLOW_HTTP", not IS_PRODUCTION)
# Tests only: lets a delivery reach a server on 127.0.0.1. Private and link-local stay refused.
KAM_WEBHOOK_ALLOW_LOOPBACK = env_bool("KAM_WEBHOOK_ALLOW_LOOPBACK", False)
if KAM_WEBHOOK_ALLOW_LOOPBACK and IS_PRODUCTION:
    raise ImproperlyConfigured("KAM_WEBHOOK_ALLOW_LOOPBACK is for tests only and cannot be set when KAM_ENV=production.")
# Days before a contract's end at which ``contract.expiring`` is announced (once per milestone).
KAM_CONTRACT_EXPIRING_DAYS = sorted({int(d) for d in env_list("KAM_CONTRACT_EXPIRING_DAYS", ["90", "60", "30"])}, reverse=True)

# --- Celery ---------------------------------------------------------------------------------------
# Without a broker (the embedded default of `make run`) tasks run in-process, eagerly. With one,
# they run on workers; work is acknowledged late and re-queued if a worker dies mid-task, so every
# task must be safe to run twice (see STYLE.md, "Celery tasks").
CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Results are kept only for the few tasks that ask (job state lives in JobRun rows, not here).
CELERY_RESULT_BACKEND = (
    env_secret("CELERY_RESULT_BACKEND", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else "") or None
)
CELERY_RESULT_EXPIRES = 3600
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 30 * 60, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 35 * 60, minimum=1)
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "kam")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Must exceed the hard time limit, or Redis redelivers a task that is still running.
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 5 * 60,
    "socket_connect_timeout": 3,
}
# When Redis is down, fail a publish within seconds so the user hears "try again" (kam.jobs).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_TASK_MAX_RETRIES = env_int("CELERY_TASK_MAX_RETRIES", 5, minimum=0)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic jobs: declared here, in one place. Issues that add jobs add their entry below.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
CELERY_BEAT_SCHEDULE["webhooks-dispatch"] = {"task": "integrations.webhooks_dispatch", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["contracts-expiring-scan"] = {
    "task": "integrations.contracts_expiring_scan",
    "schedule": crontab(hour=6, minute=15),
}
CELERY_BEAT_SCHEDULE["integrations-purge"] = {"task": "integrations.purge", "schedule": crontab(hour=3, minute=40)}
# service_plans: alert rules (R1–R10, L1, L2, E1) every night (DOMAIN.md §5.3), after the day's data has landed.
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE["evaluate-alerts-nightly"] = {
    "task": "kam.job_scheduled",
    "schedule": crontab(hour=2, minute=30),
    "kwargs": {"kind": "evaluate_alerts"},
}
# reports: the full KPI recompute every night, after the alerts.
CELERY_BEAT_SCHEDULE["recompute-kpis-nightly"] = {
    "task": "kam.job_scheduled",
    "schedule": crontab(hour=3, minute=0),
    "kwargs": {"kind": "recompute_kpis"},
}


def _cron(name: str, default: str):  # a five-field cron expression from the environment
    from celery.schedules import crontab

    fields = env_str(name, default).split()
    if len(fields) != 5:
        raise ImproperlyConfigured(f"{name} must be a cron expression of five fields (minute hour day month weekday)")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    return crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year, day_of_week=day_of_week)


# Tiering: health every night (before the alerts read it), tiers (value score, ABC, gate rule) at the start of each quarter.
CELERY_BEAT_SCHEDULE["tiering-health-nightly"] = {
    "task": "kam.job_scheduled",
    "schedule": _cron("KAM_HEALTH_SCHEDULE", "30 1 * * *"),
    "kwargs": {"kind": "recompute_scores", "params": {"part": "health"}},
}
CELERY_BEAT_SCHEDULE["tiering-tiers-quarterly"] = {
    "task": "kam.job_scheduled",
    "schedule": _cron("KAM_TIERS_SCHEDULE", "30 4 1 1,4,7,10 *"),
    "kwargs": {"kind": "recompute_scores", "params": {"part": "tiers"}},
}

# --- KAM domain settings --------------------------------------------------------------------------
KAM_BASE_CURRENCY = env_str("KAM_BASE_CURRENCY", "CNY").upper()
KAM_FISCAL_YEAR_START_MONTH = env_int("KAM_FISCAL_YEAR_START_MONTH", 1, minimum=1, maximum=12)
KAM_DEMO_ALLOWED = env_bool("KAM_DEMO_ALLOWED", not IS_PRODUCTION)
# After source data change, KPIs refresh once the changes have been quiet this long (one run per burst).
KAM_KPI_REFRESH_DEBOUNCE_SECONDS = env_int("KAM_KPI_REFRESH_DEBOUNCE_SECONDS", 60, minimum=0)
# KPI families computed at once, each on its own database connection (PostgreSQL; 1: one after the other).
KAM_KPI_WORKERS = env_int("KAM_KPI_WORKERS", 2, minimum=1, maximum=16)
# Imports: files above this many rows run as a background job from the UI; uploads are capped.
KAM_IMPORT_INLINE_MAX_ROWS = env_int("KAM_IMPORT_INLINE_MAX_ROWS", 2_000, minimum=0)
KAM_IMPORT_MAX_UPLOAD_MB = env_int("KAM_IMPORT_MAX_UPLOAD_MB", 50, minimum=1)
# KAM portfolio matrix (DOMAIN.md §1.2, tiering/matrix.py): the cuts of both axes (0–100), the value-score
# factor codes that make up attractiveness, and quadrant labels ("" keeps the translated default).
KAM_MATRIX_CUT_ATTRACTIVENESS = env_int("KAM_MATRIX_CUT_ATTRACTIVENESS", 50, minimum=0, maximum=100)
KAM_MATRIX_CUT_STRENGTH = env_int("KAM_MATRIX_CUT_STRENGTH", 50, minimum=0, maximum=100)
KAM_MATRIX_ATTRACTIVENESS_FACTORS = env_list("KAM_MATRIX_ATTRACTIVENESS_FACTORS", ["F1", "F2", "F3", "F4", "F7", "F8"])
KAM_MATRIX_LABELS = {
    code: env_str(f"KAM_MATRIX_LABEL_{code.upper()}")
    for code in ("invest_for_growth", "invest_selectively", "maintain", "manage_for_cash")
}

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
