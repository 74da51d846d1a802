# upkeep worker image. Mount a config at /config/upkeep.toml and a volume at /data for the
# SQLite file, or set UPKEEP_DATABASE_URL for PostgreSQL. Tokens come from the environment.
#
# The base is pinned by digest (the tag beside it is for people): a rebuild gets the same bytes.
# To move it: `docker buildx imagetools inspect python:3.11-slim` prints the index digest; put it
# here and in the second FROM (or pass --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:...).
ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# Dependencies first, from the lock file with hashes (make lock), so code changes reuse this layer.
COPY requirements.lock ./
RUN python -m venv /opt/upkeep \
 && /opt/upkeep/bin/pip install --require-hashes --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
# upkeep itself: no dependency resolution, and the locked setuptools builds it.
RUN /opt/upkeep/bin/pip install --no-deps --no-build-isolation .

FROM ${PYTHON_IMAGE}
# An ARG before the first FROM is not in scope inside a stage until declared again (for the label).
ARG PYTHON_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="upkeep" \
      org.opencontainers.image.description="Which open-source upstreams an organisation depends on, what it gives back, and where it under-invests." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/upkeep/bin:$PATH \
    UPKEEP_CONFIG=/config/upkeep.toml \
    UPKEEP_DATABASE__URL=sqlite:////data/upkeep.db
RUN useradd --create-home --uid 10001 upkeep \
 && mkdir -p /data /config /app \
 && chown upkeep:upkeep /data
COPY --from=build /opt/upkeep /opt/upkeep
WORKDIR /app
COPY templates ./templates
# .dockerignore keeps local databases, outputs and config/upkeep.toml out of this copy.
COPY config ./config
RUN cp config/upkeep.example.toml /config/upkeep.toml
USER upkeep
VOLUME ["/data"]
# Healthy while a worker holds the scheduler lease (its heartbeat renews it every few seconds)
# and the last pipeline run did not fail; reads the store, writes nothing.
HEALTHCHECK --interval=60s --timeout=30s --start-period=120s --retries=3 \
  CMD ["upkeep", "status", "--check"]
ENTRYPOINT ["upkeep"]
CMD ["worker"]
