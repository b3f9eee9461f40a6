# One image for the web server, the Celery worker and the migrate step (see docker-compose.yml).

# Browser assets (Chart.js for the quality dashboard) from npm, pinned by package-lock.json; only their files reach
# the image, served as static files like the rest (the app works offline).
FROM node:20-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WINNOW_DATA_DIR=/data \
    WINNOW_MEDIA_ROOT=/data/media

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a change to the code does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
COPY --from=assets /assets/node_modules/chart.js/dist node_modules/chart.js/dist
RUN pip install --no-deps . \
    && rm -rf build ./*.egg-info

# Static files are part of the image. Settings are given just enough to load without touching a database,
# a broker or /data (embedded mode would write a secret key there, and it must not be baked into the image).
RUN SECRET_KEY=collectstatic-only \
    DATABASE_URL=postgres://build@localhost/build \
    CELERY_BROKER_URL=redis://localhost \
    WINNOW_DATA_DIR=/tmp/build-data \
    python manage.py collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/build-data

RUN useradd --create-home --uid 1000 winnow \
    && mkdir -p /data/media \
    && chown -R winnow:winnow /data
USER winnow
VOLUME ["/data"]
EXPOSE 8000

# More workers or threads: set GUNICORN_CMD_ARGS, e.g. "--workers 4 --threads 4".
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000"]
