"""Settings, read from the environment (12-factor).

With nothing set, the platform runs embedded: SQLite and Celery tasks executed in process,
so the demo needs no server. Production sets DATABASE_URL (PostgreSQL), REDIS_URL (broker),
SECRET_KEY, DEBUG=0, ALLOWED_HOSTS and optionally S3 media storage.
"""
import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = env_bool("DEBUG", default=False)
TESTING = env_bool("TESTING", default="pytest" in sys.modules)
# No fallback in production: a key written here is public, and with it sessions, media URLs and e-mail
# confirmations can be forged (issue 18). The dev key exists only with DEBUG or TESTING on.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production (DEBUG=0) refuses to start without a secret key: "
            "set SECRET_KEY in the environment (e.g. python -c 'import secrets; print(secrets.token_urlsafe(64))'), "
            "or set DEBUG=1 for local development."
        )
    # "django-insecure-" makes `check --deploy` (security.W009) fail whenever this key is in use.
    SECRET_KEY = "django-insecure-dev-key-only-for-the-embedded-demo-and-tests-0123456789abcdefghijklmnop"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sites",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "core",
    "audit",
    "organizations",
    "contributors",
    "tasks",
    "annotations",
    "workqueue",  # the queue: lease, submit, release, expiry, counters (no models)
    "consensus",
    "payments",  # earnings ledger, budgets, payouts
    "assist",  # model backends' suggestions and active learning (docs/ml-backends.md)
    "exports",
    "authenticity",
    "review",
    "assets",
    "task_types",  # discovers the task-type packages (task_types/<key>/ and TASK_TYPE_PACKAGES)
    "web",
]
# Packages whose subpackages are task types (each folder: code, layouts, demo, template, script, styles).
TASK_TYPE_PACKAGES = ["task_types"]

GOOGLE_CLIENT_ID = os.environ.get("GOOGLE_CLIENT_ID", "")
GOOGLE_CLIENT_SECRET = os.environ.get("GOOGLE_CLIENT_SECRET", "")
if GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET:
    INSTALLED_APPS.append("allauth.socialaccount.providers.google")
    SOCIALACCOUNT_PROVIDERS = {
        "google": {
            "APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET, "key": ""}],
            "SCOPE": ["profile", "email"],
        }
    }

MIDDLEWARE = [
    "web.ops.ProbeMiddleware",  # /healthz, /readyz, /metrics: before anything validates the Host header
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.idempotency.IdempotencyMiddleware",  # Idempotency-Key on the organisation API's writes
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            # The task-type loader serves "task_types/<folder>/<file>.html" from the type's package folder.
            "loaders": [("django.template.loaders.cached.Loader", [
                "django.template.loaders.filesystem.Loader",
                "django.template.loaders.app_directories.Loader",
                "task_types.loaders.Loader",
            ])],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
# Health checks cost a round trip (SELECT 1) on the first query of every request; without them a
# connection broken by a database restart fails one request with a 503 (core.middleware) and is
# replaced. Production may turn them off (DB_HEALTH_CHECKS=0); the queue's fast lane never runs them
# (a dead connection there falls back to Django's path on a new one).
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
                                              conn_health_checks=env_bool("DB_HEALTH_CHECKS", default=True))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})
    if env_bool("DB_POOL"):
        # psycopg 3 pool in each process (Django 5.1+); persistent connections otherwise.
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": int(os.environ.get("DB_POOL_MIN", "2")),
            "max_size": int(os.environ.get("DB_POOL_MAX", "10")),
            "timeout": 10,
        }
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
    # Django turns prepared statements off; the queue's few hot statements ask for them (core.rawsql.
    # prepared_cursor; Django's own client-side-bound cursors never prepare). DB_PREPARED_STATEMENTS=0 for a
    # pooler in transaction mode that does not keep them (PgBouncer before 1.21).
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5 if env_bool("DB_PREPARED_STATEMENTS", default=True) else None
else:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, debouncing). Redis when configured, else local memory. ------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    # Sessions read from Redis, written through to the database (a cache miss or a Redis outage
    # falls back to it): one query less on every signed-in request.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL == "memory://")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a killed worker's job is redelivered; tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# An unacknowledged message (its worker died) is redelivered after the visibility timeout.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Publishing happens in on_commit hooks of web requests: fail fast when the broker is down; the
# periodic sweep (rescore_active_campaigns) re-enqueues what could not be published.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "consensus.tasks.*": {"queue": "consensus"},
    "exports.tasks.*": {"queue": "export"},
    "assist.tasks.*": {"queue": "assist"},  # model backends: a slow one never delays scoring or exports
    # Video frame extraction is long and CPU-bound like an export: the one-process queue, never scoring's.
    "assets.tasks.*": {"queue": "export"},
}
CELERY_BEAT_SCHEDULE = {
    "expire-leases": {"task": "workqueue.tasks.sweep_expired_leases", "schedule": timedelta(minutes=1)},
    "settle-earnings": {"task": "payments.tasks.settle", "schedule": timedelta(minutes=5)},
    "rescore-active-campaigns": {
        "task": "consensus.tasks.rescore_active_campaigns",
        "schedule": timedelta(minutes=30),
    },
}

# --- Auth / allauth -----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "core.auth_backends.ModelBackend",
    "core.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_RATE_LIMITS = {
    "login_failed": "5/5m/ip,5/5m/key",
    "signup": "20/h/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "5/h/ip,3/h/key",
}
# Every log-in form (admin and allauth) shares one failure limit (core.login_limit): per (IP, account)
# and per IP, each in a bounded window; no per-account lock that a stranger could hold against its owner.
LOGIN_FAILURES_PER_IP_AND_ACCOUNT = int(os.environ.get("LOGIN_FAILURES_PER_IP_AND_ACCOUNT", "5"))
LOGIN_FAILURES_PER_IP = int(os.environ.get("LOGIN_FAILURES_PER_IP", "50"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "label-home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "no-reply@annotate.local")

# --- i18n ---------------------------------------------------------------------------------
LANGUAGE_CODE = os.environ.get("DJANGO_LANGUAGE_CODE", "vi")  # the test suite sets "en" (tests/conftest.py)
# Native names, not translated: the switcher shows each language in its own tongue.
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
# The project catalogue, then each task-type package's own (task_types/<key>/locale/): a type carries its
# strings like its template and script. Installed apps' locale/ folders are found by Django itself.
LOCALE_PATHS = [BASE_DIR / "locale", *sorted((BASE_DIR / "task_types").glob("*/locale"))]
FORMAT_MODULE_PATH = ["config.formats"]  # vi: group thousands (200.000 ₫)
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

# --- Static and media ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "task_types.finders.Finder",  # "task_types/<folder>/<file>" from the type's package folder
]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"
AWS_STORAGE_BUCKET_NAME = os.environ.get("S3_BUCKET", "")
if AWS_STORAGE_BUCKET_NAME:
    AWS_S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None
    AWS_S3_REGION_NAME = os.environ.get("S3_REGION") or None
    AWS_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID", "")
    AWS_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY", "")
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = True
    AWS_QUERYSTRING_EXPIRE = 300
    MEDIA_BACKEND = "storages.backends.s3.S3Storage"
else:
    MEDIA_BACKEND = "django.core.files.storage.FileSystemStorage"
STORAGES = {
    "default": {"BACKEND": MEDIA_BACKEND},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "organizations.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.IdCursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_THROTTLE_CLASSES": ["organizations.throttling.ApiTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api_token": os.environ.get("API_TOKEN_RATE", "6000/min")},
    "EXCEPTION_HANDLER": "core.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Annotation platform API",
    "DESCRIPTION": "Organisation-scoped API for AI teams and the contributor task API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # served by the project, no CDN
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # 401/403 on every authenticated operation, 404 on every operation with an id (core.openapi)
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.openapi.document_refusals"],
}

# --- Security -----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=False)  # production sets it (https only)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Content-Security-Policy (django-csp 4): no inline script anywhere; page data travels via json_script.
_MEDIA_ORIGINS = [os.environ["S3_ENDPOINT_URL"]] if os.environ.get("S3_ENDPOINT_URL") else []
# Map tiles for the field-visit review map (e.g. "https://tile.example.vn/{z}/{x}/{y}.png"); empty: the page
# draws a plain coordinate plot and makes no outside request. The tile host joins img-src below.
FIELD_MAP_TILE_URL = os.environ.get("FIELD_MAP_TILE_URL", "")
_TILE_ORIGINS = ["/".join(FIELD_MAP_TILE_URL.split("/")[:3])] if FIELD_MAP_TILE_URL.startswith("https://") else []
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *_MEDIA_ORIGINS, *_TILE_ORIGINS],
        "media-src": ["'self'", "blob:", *_MEDIA_ORIGINS],
        "connect-src": ["'self'"],
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS")

# --- Platform -----------------------------------------------------------------------------
LEASE_DEFAULT_SECONDS = 600
CONSENSUS_DEBOUNCE_SECONDS = float(os.environ.get("CONSENSUS_DEBOUNCE_SECONDS", "2"))
# next/submit for signed-in browsers served by web.campaigns.fastlane in front of Django (see its docstring).
QUEUE_FAST_LANE = env_bool("QUEUE_FAST_LANE", default=True)

# --- Operations (docs/operations.md): state folder, logs, metrics -------------------------------
# Files the processes keep between runs (beat's schedule, Prometheus' multiprocess samples): never the repository.
STATE_DIR = Path(os.environ.get("STATE_DIR", BASE_DIR / "state"))
CELERY_BEAT_SCHEDULE_FILENAME = str(STATE_DIR / "celerybeat-schedule")
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")  # /metrics: local callers, or this bearer token
# JSON lines in production, readable text in development; UTC either way (core/logging.py).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG or TESTING else "json")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # Celery's workers and beat log through LOGGING below, like the web
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "core.logging.JsonFormatter"}, "text": {"()": "core.logging.TextFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's default config gives "django" its own console handler with DEBUG on, and the record also
        # reached the root's: the demo printed every 4xx twice. One handler, the root's.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # runserver's own request lines: kept (the demo's access log), through the root handler only.
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# --- Contributors (issue 4): sign-up, verification, qualifications, trust, anti-fraud --------------
ACCOUNT_FORMS = {"signup": "web.contributors.forms.SignupForm", "login": "web.contributors.forms.LoginForm"}
ACCOUNT_ADAPTER = "contributors.adapters.AccountAdapter"
# The issue asks for a clear message on a duplicate e-mail at sign-up, which allauth only gives with
# enumeration prevention off; the sign-up and log-in rate limits below keep address probing slow.
ACCOUNT_PREVENT_ENUMERATION = False
ACCOUNT_RATE_LIMITS = {**ACCOUNT_RATE_LIMITS, "login": "30/m/ip", "signup": "20/h/ip", "login_device": "30/h/key"}
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ALLAUTH_TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))  # 1 behind platform/nginx.conf
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_LOGIN_ON_GET = False
if GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET:
    # The "Continue with Google" form posts here and is redirected to Google; CSP form-action covers redirects.
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"] = [
        *CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"], "https://accounts.google.com"
    ]

# Identity documents: private storage, never under MEDIA_URL; on S3 a separate prefix, private ACL,
# short-lived signed URLs only for staff (served through web.contributors.views.identity_document_file).
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["identity"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"location": "private", "default_acl": "private", "querystring_auth": True},
    }
else:
    STORAGES["identity"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(Path(os.environ.get("PRIVATE_MEDIA_ROOT", BASE_DIR / "private-media"))),
                    "base_url": None},
    }

CONTRIBUTOR_TERMS_VERSION = os.environ.get("CONTRIBUTOR_TERMS_VERSION", "2025-1")
CONTRIBUTOR_MIN_AGE = int(os.environ.get("CONTRIBUTOR_MIN_AGE", "16"))
CONTRIBUTOR_ID_MAX_BYTES = int(os.environ.get("CONTRIBUTOR_ID_MAX_BYTES", str(5 * 1024 * 1024)))
CONTRIBUTOR_ID_RETENTION_DAYS = int(os.environ.get("CONTRIBUTOR_ID_RETENTION_DAYS", "30"))
# Trust = (g·gold_correct + consensus_agreed + k·prior) / (g·gold_seen + consensus_seen + k); see services.
CONTRIBUTOR_TRUST_GOLD_WEIGHT = 2.0
CONTRIBUTOR_TRUST_PRIOR = 0.5
CONTRIBUTOR_TRUST_PRIOR_WEIGHT = 4.0
# Automatic suspension: gold accuracy below the threshold over the last WINDOW gold answers of a task
# type, once at least MIN_GOLD of them are in the window.
CONTRIBUTOR_SUSPEND_WINDOW = int(os.environ.get("CONTRIBUTOR_SUSPEND_WINDOW", "20"))
CONTRIBUTOR_SUSPEND_MIN_GOLD = int(os.environ.get("CONTRIBUTOR_SUSPEND_MIN_GOLD", "10"))
CONTRIBUTOR_SUSPEND_BELOW = float(os.environ.get("CONTRIBUTOR_SUSPEND_BELOW", "0.5"))
# Anti-fraud: accounts sharing a device fingerprint or IP within the window raise a signal for staff;
# the platform's own sign-up limits per device and per IP come on top of allauth's.
CONTRIBUTOR_FRAUD_WINDOW_HOURS = 24
CONTRIBUTOR_FRAUD_SHARED_DEVICE = 2  # distinct accounts on one device within the window
CONTRIBUTOR_FRAUD_SHARED_IP = 4  # distinct accounts on one IP within the window
CONTRIBUTOR_SIGNUPS_PER_DEVICE_PER_DAY = int(os.environ.get("CONTRIBUTOR_SIGNUPS_PER_DEVICE_PER_DAY", "3"))
CONTRIBUTOR_SIGNUPS_PER_IP_PER_DAY = int(os.environ.get("CONTRIBUTOR_SIGNUPS_PER_IP_PER_DAY", "30"))
CONTRIBUTOR_MIN_TASK_MS = int(os.environ.get("CONTRIBUTOR_MIN_TASK_MS", "1500"))  # lease to submit, server clock
CELERY_BEAT_SCHEDULE["purge-identity-documents"] = {
    "task": "contributors.tasks.purge_identity_documents",
    "schedule": timedelta(hours=6),
}
CELERY_BEAT_SCHEDULE["assist-classify-answers"] = {
    "task": "assist.tasks.classify_answers",
    "schedule": timedelta(minutes=1),
}
CELERY_BEAT_SCHEDULE["assist-forget-old-calls"] = {
    "task": "assist.tasks.forget_old_calls",
    "schedule": timedelta(hours=24),
}
# Model backends (assist app): the first retry waits this long, each next one twice as long.
ASSIST_RETRY_BACKOFF_SECONDS = float(os.environ.get("ASSIST_RETRY_BACKOFF_SECONDS", "2"))
CELERY_BEAT_SCHEDULE["scan-task-speeds"] = {
    "task": "annotations.tasks.scan_task_speeds",
    "schedule": timedelta(minutes=5),
}

# --- Media assets (assets app: OCR images, speech recordings) ------------------------------------
# Signed media URLs live this long (S3 presigned URLs too); uploads are decoded and capped.
MEDIA_URL_TTL_SECONDS = int(os.environ.get("MEDIA_URL_TTL_SECONDS", "900"))
MEDIA_MAX_AUDIO_BYTES = int(os.environ.get("MEDIA_MAX_AUDIO_BYTES", str(8 * 1024 * 1024)))
MEDIA_MAX_IMAGE_BYTES = int(os.environ.get("MEDIA_MAX_IMAGE_BYTES", str(20 * 1024 * 1024)))
MEDIA_MAX_AUDIO_SECONDS = int(os.environ.get("MEDIA_MAX_AUDIO_SECONDS", "600"))  # campaign uploads
# Videos (assets.video): upload size, then decompression-bomb guards on what the file would decode to.
MEDIA_MAX_VIDEO_BYTES = int(os.environ.get("MEDIA_MAX_VIDEO_BYTES", str(500 * 1024 * 1024)))
MEDIA_MAX_VIDEO_SECONDS = int(os.environ.get("MEDIA_MAX_VIDEO_SECONDS", "1800"))
MEDIA_MAX_VIDEO_SIDE = int(os.environ.get("MEDIA_MAX_VIDEO_SIDE", "4096"))
if AWS_STORAGE_BUCKET_NAME:
    AWS_S3_SIGNATURE_VERSION = "s3v4"  # presigned media URLs: SigV4 (required by newer regions)
if AWS_STORAGE_BUCKET_NAME and not os.environ.get("S3_ENDPOINT_URL"):
    # AWS S3 without a custom endpoint: the page loads presigned URLs from the bucket's own host.
    _S3_HOSTS = [f"https://{AWS_STORAGE_BUCKET_NAME}.s3.amazonaws.com"]
    if os.environ.get("S3_REGION"):
        _S3_HOSTS.append(f"https://{AWS_STORAGE_BUCKET_NAME}.s3.{os.environ['S3_REGION']}.amazonaws.com")
    for _directive in ("img-src", "media-src"):
        CONTENT_SECURITY_POLICY["DIRECTIVES"][_directive] += _S3_HOSTS

# --- Data authenticity (authenticity app) ---------------------------------------------------------
# Scoring runs on the default queue (authenticity.tasks); the sweep scores answers whose job was lost.
CELERY_BEAT_SCHEDULE["authenticity-score-missing"] = {
    "task": "authenticity.tasks.score_missing",
    "schedule": timedelta(minutes=10),
}

# --- REST API for AI teams, exports, imports, webhooks (exports app, tasks.import_jobs) -----------
# Export archives are built here (temporary name, fsync, rename) and streamed by the download endpoint;
# the web and the export worker must share this directory (a volume in docker-compose).
EXPORT_ROOT = Path(os.environ.get("EXPORT_ROOT", MEDIA_ROOT / "exports"))
# Item import uploads: size cap (files are streamed, never read whole) and whether to keep them after.
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(1100 * 1024**2)))  # = nginx client_max_body_size
IMPORT_KEEP_FILES = env_bool("IMPORT_KEEP_FILES", default=False)
# Webhooks: https only and public addresses only, unless allowed (on-premises receivers, tests).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", default=False)
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "6"))
WEBHOOK_RETRY_BASE_SECONDS = float(os.environ.get("WEBHOOK_RETRY_BASE_SECONDS", "30"))

# --- Consensus scoring (consensus app: consensus/engine.py, consensus/tasks.py) -------------------
# Dawid-Skene replaces the trust-weighted vote once the campaign has this many answers per contributor.
CONSENSUS_DS_MIN_ANSWERS_PER_CONTRIBUTOR = float(os.environ.get("CONSENSUS_DS_MIN_ANSWERS_PER_CONTRIBUTOR", "10"))
# A job that has not finished after this long is considered dead (killed worker) and may be re-run.
CONSENSUS_JOB_STALE_SECONDS = int(os.environ.get("CONSENSUS_JOB_STALE_SECONDS", "3600"))
# Beat re-scores active campaigns with answers newer than their last fit (see CELERY_BEAT_SCHEDULE above).
# OpenAPI enum names for choice sets that share a field name ("status", "format") across components.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    **SPECTACULAR_SETTINGS.get("ENUM_NAME_OVERRIDES", {}),
    "CampaignStatusEnum": "tasks.models.Campaign.Status",
    "JobStatusEnum": "core.jobs.JobStatus",  # imports, exports and consensus jobs share one vocabulary
    "WebhookDeliveryStatusEnum": "exports.models.WebhookDelivery.Status",
    "ExportFormatEnum": "exports.models.Export.Format",
    "ImportFormatEnum": ["jsonl", "csv", "parquet"],
}

# --- Payments (issue 25) ---------------------------------------------------------------------
PAYMENTS_AUTO_ACCEPT_HOURS = int(os.environ.get("PAYMENTS_AUTO_ACCEPT_HOURS", "72"))
PAYMENTS_HOLD_HOURS = int(os.environ.get("PAYMENTS_HOLD_HOURS", "48"))
PAYMENTS_MIN_PAYOUT = int(os.environ.get("PAYMENTS_MIN_PAYOUT", "100000"))
# Personal income tax withheld from a payment to an individual without a labour contract (Circular 111/2013/TT-BTC).
PAYMENTS_TAX_RATE_BPS = int(os.environ.get("PAYMENTS_TAX_RATE_BPS", "1000"))
PAYMENTS_TAX_THRESHOLD = int(os.environ.get("PAYMENTS_TAX_THRESHOLD", "2000000"))

# --- Dataset versions: where a version is published (issue 28) ----------------------------------
# A directory of Hugging Face layouts (datasets.load_dataset(path) reads one), and/or an S3-compatible bucket.
DATASET_PUBLISH_ROOT = os.environ.get("DATASET_PUBLISH_ROOT") or None
DATASET_PUBLISH_S3 = {
    "bucket": os.environ.get("DATASET_PUBLISH_S3_BUCKET", ""),
    "endpoint_url": os.environ.get("DATASET_PUBLISH_S3_ENDPOINT_URL", ""),
    "region": os.environ.get("DATASET_PUBLISH_S3_REGION", ""),
    "access_key": os.environ.get("DATASET_PUBLISH_S3_ACCESS_KEY_ID", ""),
    "secret_key": os.environ.get("DATASET_PUBLISH_S3_SECRET_ACCESS_KEY", ""),
    "prefix": os.environ.get("DATASET_PUBLISH_S3_PREFIX", "datasets"),
}
