# foiawatch in a container: the scheduler (`docker run IMAGE`, the default command) or the public site
# (`docker run IMAGE serve --host 0.0.0.0`), both on one data volume at /data. compose.yaml runs the pair.
# A slim Python base: every dependency installs from wheels, and nothing needs a browser at run time (Chromium and
# Playwright are for the test suite only). Tesseract (Debian's tesseract-ocr, with English) reads scanned pages.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FOIAWATCH_DATA=/data \
    FOIAWATCH_LOG_FORMAT=json

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin foiawatch \
    && mkdir -p /data \
    && chown foiawatch:foiawatch /data

WORKDIR /opt/foiawatch
COPY pyproject.toml README.md LICENSE ./
COPY foiawatch ./foiawatch
RUN pip install --no-cache-dir . \
    && foiawatch --version

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8001
ENTRYPOINT ["foiawatch"]
CMD ["schedule"]
