# One image for every recmesh process; the argument picks it:
#   docker run IMAGE serve gateway|candidate|ranker|reranker
#   docker run IMAGE db migrate
#   docker run IMAGE train

# Stage 1: build the recmesh wheel.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY recmesh ./recmesh
COPY services ./services
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# Stage 2: install the wheel and its dependencies into a virtual environment.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HOME=/tmp
RUN python -m venv /opt/venv
COPY --from=build /wheels /tmp/wheels
RUN /opt/venv/bin/pip install --no-cache-dir /tmp/wheels/*.whl && rm -rf /tmp/wheels
# A fixed numeric id, so that Kubernetes can check runAsNonRoot without reading /etc/passwd.
RUN groupadd --system --gid 10001 recmesh \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home recmesh
USER 10001:10001
WORKDIR /tmp
EXPOSE 50051 50052 50053 9091 9092 9093 8089
ENTRYPOINT ["recmesh"]
CMD ["--help"]
