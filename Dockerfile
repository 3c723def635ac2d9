ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73
FROM ${BASE_IMAGE}

# The package, not the repository: the manifest and schemas travel inside source_listrak/ (the
# top-level manifest.yaml is only a symlink to source_listrak/manifest.yaml).
WORKDIR /airbyte/integration_code
COPY pyproject.toml uv.lock README.md main.py ./
COPY source_listrak ./source_listrak
# Requirements of airbyte-cdk that no command of this connector imports (spec, check, discover, read,
# probe): they serve CDK features it does not use (file-based sources: pandas, numpy, nltk; the
# `airbyte-cdk` command line and its secrets command: the Google Secret Manager client, gRPC, rich;
# and fuzzy matching and free-form date parsing). Left out, the installed packages take 79 MB instead
# of 318 MB and the image 254 MB instead of 488 MB (on the 183 MB local base image of container-image);
# integration_tests/test_left_out_packages.py runs every command with them unimportable.
ARG LEFT_OUT="pandas numpy nltk joblib regex tqdm click \
    google-cloud-secret-manager google-api-core google-auth googleapis-common-protos grpc-google-iam-v1 \
    grpcio grpcio-status proto-plus protobuf pyasn1 pyasn1-modules \
    rich rich-click pygments markdown-it-py mdurl rapidfuzz dateparser tzlocal unidecode"
# Exactly the runtime packages uv.lock pins (the versions the tests ran with, hash-checked) but those,
# then the connector alone: a rebuild never picks up an untested airbyte-cdk. uv only reads the lock
# (`--locked` refuses one that no longer matches pyproject.toml) and is gone before the layer ends.
# To check the lock uv reads the workspace's other member too, the test kit: its pyproject.toml is
# mounted for this step only, and nothing of the kit is in the image.
RUN --mount=type=bind,source=testkit/pyproject.toml,target=/airbyte/integration_code/testkit/pyproject.toml \
    pip install --no-cache-dir --disable-pip-version-check uv==0.13.9 \
    && uv export --locked --no-dev --no-emit-project $(printf -- '--no-emit-package %s ' $LEFT_OUT) \
        --format requirements.txt -o /tmp/requirements.txt \
    && pip uninstall -y -q uv \
    && pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps -r /tmp/requirements.txt \
    && pip install --no-cache-dir --disable-pip-version-check --no-deps . \
    && rm -rf /tmp/requirements.txt /root/.cache

# airbyte/python-connector-base creates the non-root user `airbyte` (uid 1000); a plain Debian or
# python base image (as used by local builds) does not, so create it only where it is missing.
RUN id -u airbyte >/dev/null 2>&1 || useradd --uid 1000 --user-group --no-create-home airbyte
USER airbyte

# glibc gives each worker thread its own malloc arena; when 429 waits stagger the workers the arenas
# fragment: a sync peaked at 171-215 MB instead of 122 MB, 162 MB with two arenas (bench/README.md).
ENV MALLOC_ARENA_MAX=2

ENV AIRBYTE_ENTRYPOINT="source-listrak"
ENTRYPOINT ["source-listrak"]
