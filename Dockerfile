# KAM image: web (gunicorn), worker and beat all run from it (see docker-compose.yml).
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    KAM_VAR_DIR=/var/lib/kam

RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /home/kam kam \
 && mkdir -p /var/lib/kam && chown kam /var/lib/kam

WORKDIR /app
COPY requirements.lock .
RUN pip install --require-hashes -r requirements.lock

COPY . .
# Build-time only values: the real SECRET_KEY comes from the environment at run time.
RUN KAM_ENV=development python manage.py compilemessages --ignore=.venv -v0 \
 && KAM_ENV=production SECRET_KEY=build-only-key-not-used-at-run-time-0123456789 STATIC_ROOT=/app/staticfiles \
    python manage.py collectstatic --noinput -v0

ENV STATIC_ROOT=/app/staticfiles
USER kam
EXPOSE 8000
CMD ["gunicorn", "kam.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
