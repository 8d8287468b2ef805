# XLA Bridge service image: `docker run -e XLA_BRIDGE_CONFIG=/etc/xla-bridge/config.toml ...`
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    XLA_BRIDGE_CONFIG=/etc/xla-bridge/config.toml

RUN groupadd --system xla && useradd --system --gid xla --home-dir /app --shell /usr/sbin/nologin xla

WORKDIR /app
COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir -r requirements/base.txt

COPY --chown=xla:xla . /app
RUN mkdir -p /var/lib/xla-bridge /etc/xla-bridge && chown xla:xla /var/lib/xla-bridge

USER xla
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

# The same start command as the README: gunicorn on app:create_app(), bound to [server].bind.
CMD ["python", "app.py", "serve", "--bind", "0.0.0.0:8000"]
