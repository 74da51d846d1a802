# upkeep worker image. Mount a config at /config/upkeep.toml and a volume at /data for the
# SQLite file, or set UPKEEP_DATABASE_URL for PostgreSQL. Tokens come from the environment.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-cache-dir --upgrade pip \
 && pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UPKEEP_CONFIG=/config/upkeep.toml \
    UPKEEP_DATABASE__URL=sqlite:////data/upkeep.db
RUN useradd --create-home --uid 10001 upkeep \
 && mkdir -p /data /config /app \
 && chown upkeep:upkeep /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY templates ./templates
COPY config ./config
RUN cp config/upkeep.example.toml /config/upkeep.toml
USER upkeep
VOLUME ["/data"]
ENTRYPOINT ["upkeep"]
CMD ["worker"]
