FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . .
RUN pip install --no-cache-dir ".[redis]" \
    && useradd --system --no-create-home --shell /usr/sbin/nologin hubbub \
    && mkdir -p /data/files && chown hubbub /data/files && chmod 700 /data/files

USER hubbub
EXPOSE 7878
CMD ["chat-server", "--host", "0.0.0.0", "--port", "7878"]
