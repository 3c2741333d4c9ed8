# Chinook Pulse: one image for the worker, the edge, the simulator and the init jobs of
# docker-compose.yml (`chinook-pulse <command>`). Build: `docker build -t chinook-pulse .`
#
#   python   the project and its Python dependencies in /opt/venv (the source stays in /app: the
#            commands read data/ and infra/ from next to their code)
#   web      the dashboard page's npm dependencies (pusher-js), installed from web/package-lock.json
#   runtime  python:3.11-slim with both, run as an unprivileged user; nothing is installed at start

FROM python:3.11.7-slim-bookworm AS python
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
# The dependencies first (their layer is rebuilt only when pyproject.toml changes) ...
COPY pyproject.toml README.md ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && /opt/venv/bin/pip install -r requirements.txt
# ... then the project itself, linked to /app (the same path in the runtime stage).
COPY schemas/ schemas/
COPY tables/ tables/
COPY stream/ stream/
COPY api/ api/
COPY ops/ ops/
RUN /opt/venv/bin/pip install --no-deps -e . \
    && rm requirements.txt

FROM node:20.18.1-bookworm-slim AS web
WORKDIR /app/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11.7-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RUN_DIR=/var/lib/chinook-pulse
RUN groupadd --system --gid 10001 pulse \
    && useradd --system --uid 10001 --gid pulse --home-dir /var/lib/chinook-pulse --create-home pulse
WORKDIR /app
COPY --from=python /opt/venv /opt/venv
COPY --from=python /app /app
COPY data/ data/
COPY infra/ infra/
COPY web/ web/
COPY --from=web /app/web/node_modules web/node_modules
USER 10001:10001
# The worker keeps its tables (rocksdb) and the simulator its state under RUN_DIR: a volume.
VOLUME ["/var/lib/chinook-pulse"]
EXPOSE 6066 8000
ENTRYPOINT ["chinook-pulse"]
CMD ["--help"]
