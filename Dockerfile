# posventa: one image for the web app, the workers and migrations (see docker-compose.yml).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY posventa ./posventa
COPY domain ./domain
COPY workflows ./workflows
COPY activities ./activities
COPY optimizer ./optimizer
COPY planning ./planning
COPY web ./web
COPY calendars ./calendars
COPY sms ./sms
RUN pip install . \
    && useradd --system --create-home --home-dir /var/lib/posventa posventa

USER posventa
EXPOSE 5000
CMD ["posventa", "web", "--host", "0.0.0.0", "--port", "5000"]
