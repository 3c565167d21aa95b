# Production image: gunicorn web, Celery worker and beat all run from this one image
# (docker-compose.yml picks the command). Configuration only by environment.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VAR_DIR=/app/var

WORKDIR /app
RUN useradd --create-home --uid 10001 app

COPY requirements.lock .
RUN pip install -r requirements.lock

COPY . .
# Static files are collected at build time; the throwaway key only lets settings load.
RUN DEBUG=false SECRET_KEY=build-only-not-a-secret-0000000000000000000000000000 \
    python manage.py collectstatic --noinput \
 && mkdir -p /app/var && chown -R app /app/var

USER app
EXPOSE 8000
CMD ["gunicorn", "accountability.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
