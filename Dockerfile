# telewatch in a container: `docker compose up -d` (see compose.yaml and docs/operations.md).
FROM python:3.11-slim-bookworm

# Optional OCR of archived images (tesseract with Russian, Ukrainian and English); --build-arg OCR=0 skips it.
ARG OCR=1
RUN if [ "$OCR" = "1" ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-rus tesseract-ocr-ukr tesseract-ocr-eng \
        && rm -rf /var/lib/apt/lists/*; \
    fi

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY config ./config
COPY storage ./storage
RUN pip install --no-cache-dir . && rm -rf /src

# Everything telewatch writes lives in the /data volume: config, database, sessions (under HOME), media.
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin telewatch \
    && mkdir -p /data && chown telewatch /data
USER telewatch
WORKDIR /data
ENV HOME=/data \
    TELEWATCH_CONFIG=/data/telewatch.toml \
    TELEWATCH_DB=/data/telewatch.db \
    TELEWATCH_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 9464

HEALTHCHECK --interval=60s --timeout=15s --start-period=120s --retries=3 CMD ["telewatch", "health"]
ENTRYPOINT ["telewatch"]
CMD ["run"]
