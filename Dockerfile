ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73
FROM ${BASE_IMAGE}

WORKDIR /airbyte/integration_code
COPY pyproject.toml README.md main.py ./
COPY source_listrak ./source_listrak
RUN pip install --no-cache-dir . && rm -rf /root/.cache

ENV AIRBYTE_ENTRYPOINT="source-listrak"
ENTRYPOINT ["source-listrak"]
