# One image for every Joist service: the container runs `joist serve <service>`
# (Kubernetes passes the arguments; see deploy/k8s).
#   docker build -t joist:0.1.0 .
#   docker run --rm joist:0.1.0 serve scheduler
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed numeric user, so that Kubernetes' runAsNonRoot can check it (runAsUser: 10001).
RUN groupadd --system --gid 10001 joist \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin joist

# Only what the package needs (.dockerignore keeps the rest out of the context).
WORKDIR /src
COPY pyproject.toml ./
COPY joist ./joist
COPY services ./services
RUN pip install --no-cache-dir . \
 && rm -rf /src

# The working directory is read-only but var/ (SQLite fallback, console mail log): the
# services resolve relative paths such as var/outbox/mail.log from here. In Kubernetes an
# emptyDir is mounted on /app/var and the root filesystem is read-only.
WORKDIR /app
RUN mkdir /app/var && chown 10001:10001 /app/var

USER 10001:10001
EXPOSE 8080 7050 7051 7052 7053
ENTRYPOINT ["joist"]
CMD ["--help"]
