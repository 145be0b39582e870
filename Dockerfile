# paperex: a local exchange that speaks the Bybit V5 API (docs/container.md).
#   docker build -t paperex .
#   docker run --rm -p 127.0.0.1:8080:8080 paperex
ARG PYTHON_IMAGE=python:3.11-slim

# -- build: a virtualenv with paperex and its dependencies (wheels only: no compiler needed) --------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/paperex
WORKDIR /src
# the dependencies first, from pyproject.toml alone, so that changing the code does not download them again
COPY pyproject.toml README.md ./
RUN mkdir -p src/paperex && touch src/paperex/__init__.py \
 && /opt/paperex/bin/pip install . \
 && /opt/paperex/bin/pip uninstall -y paperex
COPY src ./src
RUN /opt/paperex/bin/pip install --no-deps .

# -- run: the virtualenv on the same slim Python, as an unprivileged user --------------------------------------
FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 paperex \
 && useradd --system --uid 10001 --gid paperex --home-dir /data --no-create-home --shell /usr/sbin/nologin paperex \
 && mkdir -p /data /config \
 && chown paperex:paperex /data \
 && chmod 0700 /data
COPY --from=build /opt/paperex /opt/paperex
# `paperex serve` reads these when no flag is given: listen on every interface of the container, port 8080,
# state in the /data volume. Add PAPEREX_CONFIG=/config/paperex.toml (mounted), PAPEREX_ADMIN_TOKEN,
# PAPEREX_ADMIN_REMOTE=1, PAPEREX_NO_MARKET=1, PAPEREX_JOURNAL, PAPEREX_TLS=1 ... (`paperex serve --help`).
ENV PATH=/opt/paperex/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PAPEREX_HOST=0.0.0.0 \
    PAPEREX_PORT=8080 \
    PAPEREX_DATA_DIR=/data
USER paperex
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# GET /v5/market/time on $PAPEREX_PORT, HTTP or HTTPS (slim images have no curl)
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-m", "paperex.healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["paperex"]
CMD ["serve"]
