# mailbot service image, with PostgreSQL support (the postgres extra) and the tested dependency versions
# (constraints.txt). Configuration and data live in /data (mount a volume):
#   /data/mailbot.toml  (MAILBOT_CONFIG), a SQLite file or a PostgreSQL URL inside it.
# The process runs as uid 10001 (user mailbot, group 10001): a host folder mounted on /data must be
# writable by that uid, e.g. `chown -R 10001:10001 /srv/mailbot`. Secret files it reads must be readable by it.
FROM python:3.12-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY mailbot ./mailbot
COPY templates ./templates
COPY config ./config
# Wheels for mailbot and every dependency, at the versions .ci/run tests.
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c constraints.txt '.[postgres]'

FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MAILBOT_CONFIG=/data/mailbot.toml
RUN groupadd --system --gid 10001 mailbot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin mailbot \
    && mkdir -p /data && chown 10001:10001 /data
COPY --from=build /wheels /wheels
COPY --from=build /src/constraints.txt /tmp/constraints.txt
RUN pip install --no-cache-dir --no-index --find-links /wheels -c /tmp/constraints.txt 'mailbot[postgres]' \
    && rm -rf /wheels /tmp/constraints.txt
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# /metrics and /healthz ([health] listen, default 127.0.0.1:9464; set "0.0.0.0:9464" for a scraper outside).
EXPOSE 9464
# The check runs inside the container, so the default loopback address answers it. Slim images have no
# curl: Python's urllib fails (exit 1) on a refused connection, a timeout or any non-2xx answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4)"]
ENTRYPOINT ["mailbot"]
CMD ["run"]
