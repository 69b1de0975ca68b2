"""Settings shared by every environment. Values come from the environment (12-factor)."""

from __future__ import annotations

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEV_SECRET_KEY = "dev-insecure-sovei-secret-key-change-me"  # noqa: S105 - refused by prod
SECRET_KEY: str = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
DEBUG: bool = env.bool("DEBUG", default=False)

# Tenants live at <slug>.<BASE_DOMAIN>; the bare BASE_DOMAIN is the public site.
BASE_DOMAIN: str = env.str("BASE_DOMAIN", default="localhost").lower()
ALLOWED_HOSTS: list[str] = env.list(
    "ALLOWED_HOSTS", default=[BASE_DOMAIN, f".{BASE_DOMAIN}", "127.0.0.1"]
)
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "accounts",
    "catalog",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "axes",
    "csp",
    "auditlog",
    "worker",
    "research",
    "apitokens",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "auditlog",
    "implementation",
    "dashboards",
]
INSTALLED_APPS = list(SHARED_APPS) + [a for a in TENANT_APPS if a not in SHARED_APPS]

TENANT_MODEL = "tenants.Municipality"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
ROOT_URLCONF = "sovei_platform.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "sovei_platform.urls_public"
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

# New municipalities are made from a migrated template schema (measured faster than
# running migrations; see docs/benchmarks.md). The template is kept current by
# `migrate_schemas`, which treats it as a tenant of its own (tenants.migration_executor).
TENANT_CREATION_FAKES_MIGRATIONS = env.bool("TENANT_CREATION_FAKES_MIGRATIONS", default=True)
TENANT_BASE_SCHEMA = "tenant_template"
# How a municipality's schema is made from the template: "replay" runs the template's
# pg_dump (taken once per template state) in the new schema, at a cost that does not grow
# with the number of schemas; "clone" uses django-tenants' clone_schema(), which does.
# Replay falls back to the clone when no pg_dump of the server's version is installed.
TENANT_PROVISIONING = env.str("TENANT_PROVISIONING", default="replay")
if TENANT_PROVISIONING not in ("replay", "clone"):
    raise ImproperlyConfigured("TENANT_PROVISIONING must be 'replay' or 'clone'")
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.int("TENANT_MIGRATION_PROCESSES", default=4)
TENANT_MULTIPROCESSING_CHUNKS = 8
GET_EXECUTOR_FUNCTION = "tenants.migration_executor.get_executor"
# One `SET search_path` per schema switch instead of one before every query (half of a
# request's round trips otherwise; docs/benchmarks.md, "Per-request cost"). django-tenants
# issues it again after every set_tenant()/schema_context(), a new connection, a rollback
# and a savepoint rollback; tests/test_search_path.py shows a reused connection follows.
TENANT_LIMIT_SET_CALLS = True
# Seconds a process remembers which municipality a host name belongs to (tenants.routing):
# the routing fields only, so a rename shows up to this late in other processes; the rest
# of the row is read when used. 0: look it up on every request.
TENANT_HOST_CACHE_SECONDS: int = env.int("TENANT_HOST_CACHE_SECONDS", default=60)

MIDDLEWARE = [
    "sovei_platform.health.HealthCheckMiddleware",
    "tenants.middleware.MunicipalityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Authorization: Bearer <token> on /api/ (apitokens.middleware), before the membership
    # check, which then checks the token's owner like a signed-in person.
    "apitokens.middleware.ApiTokenMiddleware",
    # The signed-in user's remembered language, also on the membership check's 403 page.
    "accounts.middleware.UserLanguageMiddleware",
    "accounts.middleware.TenantMembershipMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    "axes.middleware.AxesMiddleware",
    # The site's 404 page for Http404 from a view, also with DEBUG on.
    "sovei_platform.middleware.NotFoundPageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "sovei_platform" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "sovei_platform.wsgi.application"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgresql://postgres@127.0.0.1:5432/sovei")
}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str(
    "TEST_DATABASE_NAME", default="test_sovei"
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL: str = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Refuses every password while PASSWORD_SIGN_IN_ENABLED is off (before ModelBackend,
    # which still loads the signed-in user of a session and of the sign-in hand-off).
    "accounts.backends.PasswordSwitchBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Feide (OpenID Connect) on the public site: accounts.oidc
    "accounts.oidc.FeideBackend",
]
# Local passwords, for the demo and for people without Feide; off: Feide only.
PASSWORD_SIGN_IN_ENABLED: bool = env.bool("PASSWORD_SIGN_IN_ENABLED", default=True)

# Sign-in with Feide by OpenID Connect (mozilla-django-oidc; accounts.oidc): the code flow
# with PKCE (S256), state and nonce, on the public site only (the one callback URL
# registered with Feide: https://<BASE_DOMAIN>/accounts/feide/callback/), carried to a
# municipality's host by the sign-in hand-off. The ID token's signature is checked against
# the provider's keys (JWKS), and its issuer, audience (our client id), expiry and nonce.
# Off until a client id is set.
OIDC_RP_CLIENT_ID: str = env.str("OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET: str = env.str("OIDC_CLIENT_SECRET", default="")
FEIDE_SIGN_IN_ENABLED: bool = bool(OIDC_RP_CLIENT_ID)
OIDC_OP_ISSUER: str = env.str("OIDC_ISSUER", default="https://auth.dataporten.no")
OIDC_OP_AUTHORIZATION_ENDPOINT: str = env.str(
    "OIDC_AUTHORIZATION_ENDPOINT", default=f"{OIDC_OP_ISSUER}/oauth/authorization"
)
OIDC_OP_TOKEN_ENDPOINT: str = env.str(
    "OIDC_TOKEN_ENDPOINT", default=f"{OIDC_OP_ISSUER}/oauth/token"
)
OIDC_OP_USER_ENDPOINT: str = env.str(
    "OIDC_USERINFO_ENDPOINT", default=f"{OIDC_OP_ISSUER}/openid/userinfo"
)
OIDC_OP_JWKS_ENDPOINT: str = env.str(
    "OIDC_JWKS_ENDPOINT", default=f"{OIDC_OP_ISSUER}/openid/jwks"
)
OIDC_RP_SCOPES: str = env.str("OIDC_SCOPES", default="openid email profile userid-feide")
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_TIMEOUT = 10  # seconds for each call to the provider
OIDC_AUTHENTICATION_CALLBACK_URL = "feide_callback"
# Feide's claims: its stable user id, and the username (eduPersonPrincipalName), which an
# invitation may name instead of the e-mail address.
OIDC_FEIDE_USER_ID_CLAIM: str = env.str("OIDC_FEIDE_USER_ID_CLAIM", default="sub")
OIDC_FEIDE_EPPN_CLAIM: str = env.str(
    "OIDC_FEIDE_EPPN_CLAIM", default="https://n.feide.no/claims/eduPersonPrincipalName"
)
OIDC_CLOCK_LEEWAY_SECONDS: int = env.int("OIDC_CLOCK_LEEWAY_SECONDS", default=60)
# An invitation to a municipality (accounts.services.invitation_create) expires after this.
INVITATION_VALID_DAYS: int = env.int("INVITATION_VALID_DAYS", default=14)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Brute-force protection on the login form (django-axes); keyed on user + IP.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The sign-in form posts the e-mail address as "username" (Django's AuthenticationForm);
# axes would otherwise look for USERNAME_FIELD ("email") and record every failure without
# a username, locking the whole address and never the account (tests/test_login_lockout.py).
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True

LANGUAGE_CODE = "nb"
LANGUAGES = [("nb", _("Norwegian Bokmål")), ("nn", _("Norwegian Nynorsk")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# English dates the British/ISO way (2026-03-01, 1 March 2026), not the US one.
FORMAT_MODULE_PATH = ["sovei_platform.formats"]
TIME_ZONE = "Europe/Oslo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Files served at the site's root (/favicon.ico), before any sign-in check.
WHITENOISE_ROOT = BASE_DIR / "sovei_platform" / "root"
STATICFILES_DIRS = [BASE_DIR / "sovei_platform" / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # /static/plotly/plotly.min.js from the installed plotly package (never a CDN).
    "sovei_platform.staticfinders.PlotlyFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="SoVei <noreply@sovei.no>")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): everything from our own origin; plotly.js is
# served from our static files, never a CDN. Plotly needs inline styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

REST_FRAMEWORK = {
    # A token first: a token request needs no CSRF token; SessionAuthentication still
    # enforces CSRF on every session write.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apitokens.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Per token (apitokens.throttling; the rate is API_TOKEN_THROTTLE_RATE below).
    "DEFAULT_THROTTLE_CLASSES": ["apitokens.throttling.ApiTokenRateThrottle"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "sovei_platform.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SoVei implementation platform API",
    "DESCRIPTION": "Records and aggregates of the SoVei implementation, per municipality.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Separate request and response components: read-only fields stay out of request bodies.
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation documents its 400/403/404 (sovei_platform.api.document_errors).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sovei_platform.api.document_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "AdoptionStatusEnum": "implementation.models.AdoptionStatus",
        "StepStatusEnum": "implementation.models.StepStatus",
    },
    "TAGS": [
        {"name": "schools", "description": "Schools and their social-work positions."},
        {"name": "adoptions", "description": "Adopted components and their status history."},
        {"name": "adaptations", "description": "Adaptations recorded FRAME-style."},
        {"name": "plans", "description": "Implementation plans per school and model version."},
        {"name": "steps", "description": "Strategy steps (Proctor et al. 2013, ERIC clusters)."},
        {"name": "stage-periods", "description": "NIRN stage entry and exit per module."},
        {"name": "rounds", "description": "Assessment rounds."},
        {"name": "survey-links", "description": "One-time links for respondents without account."},
        {"name": "responses", "description": "Team ratings, own answers and response counts."},
        {"name": "survey", "description": "Public: answering a one-time link (no session)."},
        {"name": "activities", "description": "The activity log (time use)."},
        {"name": "audit", "description": "Who created, changed or deleted what, and when."},
        {"name": "catalog", "description": "The SoVei model and the instruments (read-only)."},
        {"name": "research", "description": "Public site, researchers: the anonymized "
         "research store's datasets, codebooks and the export log (read-only, logged)."},
    ],
}

# Requests per API token (DRF rate syntax: 600/minute, 20/second, …), counted in Redis so
# every web process shares the count (apitokens.throttling).
API_TOKEN_THROTTLE_RATE: str = env.str("API_TOKEN_THROTTLE_RATE", default="600/minute")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "api_throttle": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "sovei-throttle",
        # A hung Redis must not hang API requests: the throttle lets them through.
        "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
    },
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis transport (kombu). socket_timeout: a publish on a broker connection that died
# without closing (Redis hung, a failover, a NAT or firewall that dropped it) gives up after
# 5 s instead of waiting forever, and with it the request whose write it follows (the
# write has committed; its marker waits for the sweep). It must stay above kombu's
# 1-second BRPOP timeout. visibility_timeout: a message whose worker died before
# acknowledging it (acks_late) is handed out again after this long, so it must stay above
# every task's time limit (the research refresh may run 3900 s) and every retry countdown;
# kombu's default, an hour, would hand a long refresh to a second worker while the first
# still runs it. tests/test_fault_drills.py shows both.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": 5,
    "socket_connect_timeout": 2,
    "visibility_timeout": 7200,
}
CELERY_TIMEZONE = TIME_ZONE
# Queue name from the environment so a test session's worker consumes only its own tasks.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_TENANT_CACHE_SECONDS = 60  # tenant-schemas-celery: municipality lookups per task
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "heartbeat": {"task": "worker.tasks.heartbeat", "schedule": crontab(minute="*/5")},
    # Dirty markers whose message was lost (broker down at write time): every 30 s.
    "sweep-pending-recomputes": {
        "task": "worker.tasks.sweep_pending",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # Full recomputation: day counts of ongoing stages move on; catalog edits take effect.
    "nightly-recompute": {
        "task": "worker.tasks.nightly_recompute",
        "schedule": crontab(hour=2, minute=30),
        "options": {"expires": 3 * 3600},
    },
    # Research store (research.refresh): nightly, after the full recomputation has run.
    "research-refresh": {
        "task": "research.tasks.refresh_research_store",
        "schedule": crontab(hour=4, minute=30),
        "options": {"expires": 3 * 3600},
    },
    # Survey links and their answers past SURVEY_LINK_RETENTION_DAYS (before the full
    # recomputation, which then rebuilds the response rates without them).
    "survey-link-retention": {
        "task": "implementation.tasks.survey_link_retention",
        "schedule": crontab(hour=1, minute=30),
        "options": {"expires": 3 * 3600},
    },
}

# Research store: school/municipality pseudonyms are HMAC-SHA256 under this key (prod
# refuses the development default; rotating it is documented in docs/research.md).
# Disclosure rules (sovei_platform/privacy.py, docs/research.md): survey results are
# released only in groups of at least RESEARCH_MIN_GROUP_SIZE respondents — on the
# dashboards and in the research store alike — and time use only for groups of at least
# RESEARCH_MIN_STAFF_GROUP staff; a semester reaches the researchers
# RESEARCH_RELEASE_DELAY_DAYS after it ended.
DEV_RESEARCH_PSEUDONYM_KEY = "dev-insecure-research-pseudonym-key"  # refused by prod
RESEARCH_PSEUDONYM_KEY: str = env.str(
    "RESEARCH_PSEUDONYM_KEY", default=DEV_RESEARCH_PSEUDONYM_KEY
)
RESEARCH_MIN_GROUP_SIZE: int = env.int("RESEARCH_MIN_GROUP_SIZE", default=5)
RESEARCH_MIN_STAFF_GROUP: int = env.int(
    "RESEARCH_MIN_STAFF_GROUP", default=RESEARCH_MIN_GROUP_SIZE
)
RESEARCH_RELEASE_DELAY_DAYS: int = env.int("RESEARCH_RELEASE_DELAY_DAYS", default=30)

# One-time survey links, and the answers given through them, are deleted this many days
# after their round closed (implementation.services.retention; nightly), except answers
# counted in a released group. 0 keeps them.
SURVEY_LINK_RETENTION_DAYS: int = env.int("SURVEY_LINK_RETENTION_DAYS", default=730)
# Directory of pg_dump/pg_restore for the municipality backup commands (tenants.backup);
# empty: found by the server's major version (docs/operations.md).
POSTGRES_BIN_DIR: str = env.str("POSTGRES_BIN_DIR", default="")

AUDITLOG_INCLUDE_ALL_MODELS = False
# Survey answers by link must not carry the respondent's address; staff writes don't need it.
AUDITLOG_DISABLE_REMOTE_ADDR = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Expected 403/404 at INFO, one line without a traceback (sovei_platform.log_filters).
    "filters": {"expected_refusals": {"()": "sovei_platform.log_filters.ExpectedRefusalFilter"}},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["expected_refusals"]},
    },
}

# Hosts that show the public site besides BASE_DOMAIN (e.g. 127.0.0.1 for local use).
PUBLIC_HOSTS: list[str] = env.list("PUBLIC_HOSTS", default=["127.0.0.1"])
