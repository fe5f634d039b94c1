# One image for every Centinela process (stream, retrain, producer, CLI) and the MLflow server.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MLFLOW_DISABLE_TELEMETRY=true
COPY pyproject.toml constraints.txt README.md ./
COPY centinela ./centinela
COPY producers ./producers
COPY stream ./stream
COPY retrain ./retrain
# psycopg2 lets the same image run the MLflow server on PostgreSQL in docker-compose.yml.
RUN pip install --no-cache-dir -c constraints.txt . psycopg2-binary==2.9.11
RUN useradd --create-home centinela
USER centinela
CMD ["centinela", "--help"]
