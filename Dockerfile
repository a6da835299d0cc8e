FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml ./
COPY common ./common
COPY web ./web
COPY worker ./worker
RUN pip install --no-cache-dir .
COPY . .
RUN useradd --system --home /app tracker && chown -R tracker /app
USER tracker
EXPOSE 8000 5555
