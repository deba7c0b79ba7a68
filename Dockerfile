# mailbot service image. Configuration and data live in /data (mount a volume):
#   /data/mailbot.toml  (MAILBOT_CONFIG), SQLite file or PostgreSQL URL inside it.
FROM python:3.12-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY mailbot ./mailbot
COPY templates ./templates
COPY config ./config
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MAILBOT_CONFIG=/data/mailbot.toml
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin mailbot \
    && mkdir -p /data && chown mailbot:mailbot /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER mailbot
WORKDIR /data
VOLUME ["/data"]
ENTRYPOINT ["mailbot"]
CMD ["run"]
