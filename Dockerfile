# syntax=docker/dockerfile:1
# thaogo: one image for the four services and the one-shot commands.
#   docker build -t thaogo:local .
#   docker run --rm thaogo:local run router      # or: migrate | topics | config check DIR
# The embedded broker and PostgreSQL wheels come along as dependencies but are
# never started in a container: every container is given THAOGO_KAFKA_BOOTSTRAP
# and THAOGO_DATABASE_URL.

########## builder: build the wheel and a self-contained virtualenv ##########
FROM python:3.11.11-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/thaogo
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY thaogo ./thaogo
RUN /opt/thaogo/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/thaogo/bin/pip install /wheels/thaogo-*.whl \
 && /opt/thaogo/bin/thaogo --help >/dev/null

########## runtime ##########
FROM python:3.11.11-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="thaogo" \
      org.opencontainers.image.description="Difficulties of businesses: intake, routing, reporting, notifications" \
      org.opencontainers.image.licenses="Apache-2.0"

# Liberation Serif (SIL OFL 1.1), which the reports' PDF embeds.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-liberation2 \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 thaogo \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/thaogo --create-home \
      --shell /usr/sbin/nologin thaogo

COPY --from=builder /opt/thaogo /opt/thaogo
COPY deploy/docker/healthcheck.py /opt/thaogo/healthcheck.py

# Services listen on every interface inside a container; each keeps its own port.
ENV PATH=/opt/thaogo/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    THAOGO_INTAKE_HTTP_HOST=0.0.0.0 \
    THAOGO_ROUTER_HTTP_HOST=0.0.0.0 \
    THAOGO_REPORTING_HTTP_HOST=0.0.0.0 \
    THAOGO_NOTIFY_HTTP_HOST=0.0.0.0

USER 10001:10001
WORKDIR /home/thaogo
EXPOSE 8001 8002 8003 8004

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "/opt/thaogo/healthcheck.py"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["thaogo"]
CMD ["run", "intake"]
