# medium — API / worker / migrate image.
#   docker build -t medium .
#   docker run --rm -e DATABASE_URL=... medium migrate
#   docker run --rm -p 8000:8000 -e DATABASE_URL=... -e MEDIUM_JWT_SECRET=... medium
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Resolve the packages from /app, so paths found relative to the source
    # (web/, supabase/migrations/) exist next to them at runtime.
    PYTHONPATH=/app

WORKDIR /app

COPY pyproject.toml README.md ./
COPY synthesis ./synthesis
COPY api ./api
COPY workers ./workers
COPY web ./web
COPY supabase ./supabase
COPY benchmarks ./benchmarks

RUN pip install . \
 && rm -rf build *.egg-info \
 && useradd --create-home --uid 10001 --shell /usr/sbin/nologin medium \
 && chown -R medium:medium /app

USER medium

EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["medium"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
