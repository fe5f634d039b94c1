# One image for every Centinela process (stream, retrain, producer, CLI) and the MLflow server.
#
# Every process runs as the unprivileged user `centinela` (uid and gid 10001, fixed so that a
# named volume keeps a matching owner when the image is rebuilt). The user writes only to:
#   /var/lib/centinela         its home, the working folder and CENTINELA_HOME: the stream
#                              worker's Faust data, producer manifests, caches under HOME
#   /var/lib/mlflow/artifacts  the MLflow server's artifacts (docker-compose.yml mounts the
#                              mlflow-artifacts volume here; a new named volume takes this
#                              folder's owner at its first mount)
# The code is installed into site-packages, so /app only holds the build sources (root-owned).
# tests/test_compose.py reads this file (tests/dockerfile.py) and checks docker-compose.yml
# against it; tests/test_image_conditions.py runs `centinela stream` under these conditions.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MLFLOW_DISABLE_TELEMETRY=true \
    CENTINELA_HOME=/var/lib/centinela
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY centinela ./centinela
COPY producers ./producers
COPY stream ./stream
COPY retrain ./retrain
# psycopg (3) lets the same image run the MLflow server on PostgreSQL in docker-compose.yml: it is
# SQLAlchemy 2.1's driver for a plain postgresql:// URI (psycopg2 no longer is).
RUN pip install --no-cache-dir -c constraints.txt . "psycopg[binary]"
RUN groupadd --system --gid 10001 centinela \
    && useradd --system --uid 10001 --gid centinela --no-create-home \
        --home-dir /var/lib/centinela --shell /usr/sbin/nologin centinela \
    && install -d -o centinela -g centinela -m 0755 /var/lib/centinela /var/lib/mlflow/artifacts
USER centinela
WORKDIR /var/lib/centinela
CMD ["centinela", "--help"]
