"""Settings, read once from the environment (and a `.env` file at the root) through django-environ.

Every name is documented once, in the README's environment table.
"""

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import environ
import limits
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# Public on purpose, and refused below whenever DEBUG is off.
DEVELOPMENT_SECRET_KEY = "django-insecure-development-key-do-not-use-in-production"  # noqa: S105

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
if not DEBUG and (SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a real secret (50+ characters) when DEBUG is off."
    )
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.AdminConfig",  # django.contrib.admin with our site (config/admin.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "corsheaders",
    "servestatic",  # before staticfiles: runserver leaves static files to ServeStatic too
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "recommendations",
    "llm",
]

# Django's usual set (the admin and session sign-in need them), run inline on the event loop under
# ASGI instead of one thread hop each: see config/middleware.py. ServeStatic's is async already; it
# answers static files right after the security headers are set, before sessions and the rest.
MIDDLEWARE = [
    "config.middleware.InlineSecurityMiddleware",
    # Async already. Before everything that can answer: a preflight is answered here, before
    # sessions, CSRF and authentication (settings under "CORS" below).
    "corsheaders.middleware.CorsMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "config.middleware.InlineSessionMiddleware",
    "config.middleware.InlineCommonMiddleware",
    "config.middleware.InlineCsrfViewMiddleware",
    "config.middleware.InlineAuthenticationMiddleware",
    "config.middleware.InlineMessageMiddleware",
    "config.middleware.InlineXFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASE_POOL_TIMEOUT = env.float("DATABASE_POOL_TIMEOUT", default=3.0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI, persistent connections leak across threads: Django asks for CONN_MAX_AGE=0 and
    # offers its psycopg 3 pool instead (a fresh connection costs ~5 ms per request here). Every
    # thread hop gives its connection back (recommendations/connections.py).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # With the pool, this is psycopg_pool's check on checkout: a connection the server closed is
    # replaced before a request gets it, instead of costing that request a 500.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    options = DATABASES["default"].setdefault("OPTIONS", {})
    # An unreachable server answers within this, not the operating system's minutes (libpq's floor: 2).
    options.setdefault("connect_timeout", max(2, round(DATABASE_POOL_TIMEOUT)))
    options["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
        # How long a request waits for a connection before it fails (and /readyz says 503).
        "timeout": DATABASE_POOL_TIMEOUT,
        "name": "django",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------------
# Redis socket timeouts: a hung Redis costs a page at most about this (config/cache.py).
CACHE_TIMEOUT_SECONDS = env.float("CACHE_TIMEOUT_SECONDS", default=0.25)
CACHES = {
    # Local memory keeps 10,000 entries (Django's 300 would drop messages of a few readers' pages).
    "default": env.cache_url(
        "CACHE_URL", default="locmemcache://fashion-recommendations?max_entries=10000", backend=None
    )
}
if CACHES["default"]["BACKEND"] in ("django_redis.cache.RedisCache",
                                     "django.core.cache.backends.redis.RedisCache"):  # fmt: skip
    # django-redis: one connection pool per process, shared by every request (Django's own Redis
    # backend builds a client, and a connection, per request under ASGI); config.cache's backend
    # keeps django-redis's client across requests too.
    CACHES["default"]["BACKEND"] = "config.cache.RedisCache"
    cache_options = CACHES["default"].setdefault("OPTIONS", {})
    cache_options.setdefault("SOCKET_CONNECT_TIMEOUT", CACHE_TIMEOUT_SECONDS)
    cache_options.setdefault("SOCKET_TIMEOUT", CACHE_TIMEOUT_SECONDS)
    cache_options.setdefault("CONNECTION_POOL_CLASS", "config.cache.FailFastConnectionPool")

# --- Auth -----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "recommendations.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- I18N -----------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files (ServeStatic; the demo images are drawn by seed_demo into DEMO_STATIC_DIR) -------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
DEMO_STATIC_DIR = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [DEMO_STATIC_DIR]
# Served from the apps' and DEMO_STATIC_DIR's own files (the finders' copy first) and from what
# collectstatic gathered into STATIC_ROOT; with DEBUG, looked up afresh on each request.
SERVESTATIC_USE_FINDERS = True
SERVESTATIC_USE_STATIC_ROOT = True
SERVESTATIC_AUTOREFRESH = DEBUG

# --- Uploaded files (profile photos), in Django's default storage -------------------------------
# On local disk under MEDIA_ROOT, served at MEDIA_URL by the app itself only with DEBUG; in
# production serve MEDIA_URL from MEDIA_ROOT with the proxy, or set STORAGES["default"] to an object
# store (README: "Profile photos").
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")

# --- Production hardening (`check --deploy` clean when DEBUG is off) -----------------------------
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Probes and scrapers talk plain HTTP to the pod; TLS ends at the proxy.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=3600)
    # Covers subdomains of the API host only (HSTS is per host), so on by default.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = False
    if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = [
    "security.W021",  # HSTS preload is an opt-in decision for the domain owner.
    # Django looks for its security, clickjacking and CSRF middleware by exact name; ours are those
    # classes run inline (config/middleware.py), tested in recommendations/tests/test_asgi.py.
    "security.W001",
    "security.W002",
    "security.W003",
]

# --- CORS (django-cors-headers): browser clients on other origins, /api/ only ------------------
# The web client runs on its own origin (`next dev`: http://localhost:3000) and sends
# `Authorization: Bearer`, so each call is preflighted. Origins are scheme://host[:port], exactly.
CORS_ALLOWED_ORIGINS = env.list(
    "CORS_ALLOWED_ORIGINS", default=["http://localhost:3000"] if DEBUG else []
)
for _origin in CORS_ALLOWED_ORIGINS:
    _parts = urlsplit(_origin)
    if _parts.scheme not in ("http", "https") or not _parts.netloc or _parts.path or _parts.query:
        # django-cors-headers' own check runs only with manage.py; uvicorn would start and refuse
        # every browser call.
        raise ImproperlyConfigured(
            f"CORS_ALLOWED_ORIGINS: {_origin!r} is not an origin (scheme://host[:port], no path)."
        )
CORS_URLS_REGEX = r"^/api/.*$"
# What the client sends; tokens travel in Authorization, never in cookies, so no credentials mode.
CORS_ALLOW_HEADERS = ("authorization", "content-type")
CORS_ALLOW_CREDENTIALS = False

# --- REST framework -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "recommendations.api.authentication.BearerTokenAuthentication",
        "recommendations.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["recommendations.api.renderers.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["recommendations.api.parsers.ORJSONParser"],
    "EXCEPTION_HANDLER": "recommendations.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {
        "auth": env.str("AUTH_THROTTLE_RATE", default="20/minute"),
        # Per user, on the web client's writes (likes, skips, views, closet, preferences, photo).
        "write": env.str("API_WRITE_THROTTLE_RATE", default="300/minute"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fashion recommendations API",
    "DESCRIPTION": "Outfits (coordis) recommended to the signed-in user, with a Gemini-written message.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the app's own static files: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Every error each operation can answer, in the envelope (recommendations/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "recommendations.api.schema.document_errors",
    ],
}

# --- Recommendations ------------------------------------------------------------------------------
# Dotted path of the recommender class (see recommendations/recommenders.py).
RECOMMENDER = env.str("RECOMMENDER", default="recommendations.recommenders.NewestForGender")
# How long an outfit's cached catalogue fragment lives (an edit replaces it at once; see README).
OUTFIT_FRAGMENT_TTL_SECONDS = env.int("OUTFIT_FRAGMENT_TTL_SECONDS", default=7 * 86400)
# How many fragments each process also keeps in its own memory (0: none, every page reads the cache).
OUTFIT_FRAGMENT_MEMORY_ENTRIES = env.int("OUTFIT_FRAGMENT_MEMORY_ENTRIES", default=2000)

# --- LLM (Gemini) ---------------------------------------------------------------------------------
GOOGLE_API_KEY = env.str("GOOGLE_API_KEY", default="")
GEMINI_MODEL = env.str("GEMINI_MODEL", default="gemini-2.5-flash")
GEMINI_BASE_URL = env.str("GEMINI_BASE_URL", default="")
# 2.5 Flash thinks by default: slower and dearer for a 50-character sentence. -1 = dynamic.
GEMINI_THINKING_BUDGET = env.int("GEMINI_THINKING_BUDGET", default=0)
GEMINI_MAX_OUTPUT_TOKENS = env.int("GEMINI_MAX_OUTPUT_TOKENS", default=100)
# The tokens an image may use: low is plenty for a one-sentence message (README: what it costs).
GEMINI_MEDIA_RESOLUTION = env.str("GEMINI_MEDIA_RESOLUTION", default="low").strip().lower()
if GEMINI_MEDIA_RESOLUTION not in ("low", "medium", "high", "unspecified"):
    raise ImproperlyConfigured(
        "GEMINI_MEDIA_RESOLUTION must be low, medium, high or unspecified, not "
        f"{GEMINI_MEDIA_RESOLUTION!r}."
    )


_Number = TypeVar("_Number", int, float)


def _number(parse: Callable[..., _Number], name: str, default: _Number) -> _Number:
    """env.int or env.float, with a line that names the setting instead of a ValueError's traceback."""
    try:
        return parse(name, default=default)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {env.str(name)!r}.") from None


def _price(name: str, default: float) -> float:
    price = _number(env.float, name, default)
    if not 0 <= price < 1000:  # NaN too
        raise ImproperlyConfigured(f"{name} must be US dollars per million tokens, not {price!r}.")
    return price


# US dollars per million tokens, for cost estimates only: Google's published Standard-tier prices
# for gemini-2.5-flash (ai.google.dev/gemini-api/docs/pricing, as of 2026-12-06): input (text,
# image, video) 0.30, output (thinking included) 2.50, context-cache hits 0.03.
GEMINI_PRICE_INPUT_PER_MTOK = _price("GEMINI_PRICE_INPUT_PER_MTOK", 0.30)
GEMINI_PRICE_OUTPUT_PER_MTOK = _price("GEMINI_PRICE_OUTPUT_PER_MTOK", 2.50)
GEMINI_PRICE_CACHED_PER_MTOK = _price("GEMINI_PRICE_CACHED_PER_MTOK", 0.03)
LLM_TIMEOUT_SECONDS = env.float("LLM_TIMEOUT_SECONDS", default=10.0)
LLM_IMAGE_TIMEOUT_SECONDS = env.float("LLM_IMAGE_TIMEOUT_SECONDS", default=5.0)
LLM_IMAGE_MAX_BYTES = env.int("LLM_IMAGE_MAX_BYTES", default=5 * 1024 * 1024)
# Images are downscaled before they leave (llm.downscale): to fit this many pixels a side, refused
# past that many pixels in all (read from the header, before decoding), within that long a decode.
LLM_IMAGE_MAX_SIDE = _number(env.int, "LLM_IMAGE_MAX_SIDE", 768)
LLM_IMAGE_MAX_PIXELS = _number(env.int, "LLM_IMAGE_MAX_PIXELS", 24_000_000)
LLM_IMAGE_DECODE_TIMEOUT_SECONDS = _number(env.float, "LLM_IMAGE_DECODE_TIMEOUT_SECONDS", 2.0)
if not 16 <= LLM_IMAGE_MAX_SIDE <= 4096:
    raise ImproperlyConfigured(f"LLM_IMAGE_MAX_SIDE must be 16 to 4096 pixels, not {LLM_IMAGE_MAX_SIDE}.")
if LLM_IMAGE_MAX_PIXELS < 1:
    raise ImproperlyConfigured(f"LLM_IMAGE_MAX_PIXELS must be positive, not {LLM_IMAGE_MAX_PIXELS}.")
if not 0 < LLM_IMAGE_DECODE_TIMEOUT_SECONDS <= 60:  # NaN too
    raise ImproperlyConfigured(
        "LLM_IMAGE_DECODE_TIMEOUT_SECONDS must be above 0 and at most 60, not "
        f"{LLM_IMAGE_DECODE_TIMEOUT_SECONDS}."
    )
# The demo serves its own images from 127.0.0.1, so development allows loopback by default.
LLM_IMAGE_ALLOWED_HOSTS = env.list(
    "LLM_IMAGE_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else []
)
LLM_MAX_CONCURRENCY = env.int("LLM_MAX_CONCURRENCY", default=10)
LLM_MAX_IN_FLIGHT = env.int("LLM_MAX_IN_FLIGHT", default=100)
LLM_MESSAGE_LANGUAGE = env.str("LLM_MESSAGE_LANGUAGE", default="ko")
LLM_RATE_LIMIT = env.str("LLM_RATE_LIMIT", default="")
if LLM_RATE_LIMIT.strip():
    try:
        limits.parse(LLM_RATE_LIMIT)
    except ValueError:
        raise ImproperlyConfigured(
            f"LLM_RATE_LIMIT must look like 1000/minute (or be empty), not {LLM_RATE_LIMIT!r}."
        ) from None
LLM_CACHE_TTL_SECONDS = env.int("LLM_CACHE_TTL_SECONDS", default=86400)
LLM_FAILURE_TTL_SECONDS = env.int("LLM_FAILURE_TTL_SECONDS", default=60)
# How long a page waits for its messages; empty: for every one (each is bounded on its own). Those
# not ready by then are still made, cached and recorded.
LLM_RESPONSE_DEADLINE_SECONDS = env.float("LLM_RESPONSE_DEADLINE_SECONDS", default=None)
# Messages being made at once in one process by work that may outlive its request (every page's,
# deferred or streamed ones included); past it, a page's messages not yet made are unavailable.
LLM_BACKGROUND_MAX = env.int("LLM_BACKGROUND_MAX", default=300)
# Seconds between two heartbeat comments of GET /api/recommendations/stream while it waits.
STREAM_HEARTBEAT_SECONDS = env.float("STREAM_HEARTBEAT_SECONDS", default=15.0)
LLM_MESSAGE_SCOPE = env.str("LLM_MESSAGE_SCOPE", default="user")
if LLM_MESSAGE_SCOPE not in ("user", "shared"):
    raise ImproperlyConfigured(f"LLM_MESSAGE_SCOPE must be user or shared, not {LLM_MESSAGE_SCOPE!r}.")

# --- Logging --------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # Django's own (django.request's one line per 4xx and 5xx) through our handler only: Django's
        # default config gives it a console handler of its own too, and every line came out twice.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "recommendations": {"level": LOG_LEVEL},
        "llm": {"level": LOG_LEVEL},
        # The SDK and httpx log request URLs at INFO; keep them quiet.
        "httpx": {"level": "WARNING"},
        "google_genai": {"level": "WARNING"},
    },
}
