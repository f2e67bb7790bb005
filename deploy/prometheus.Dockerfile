# Prometheus from Debian's package, scraping the learner of docker-compose.yml
# (deploy/monitoring.yml; deploy/prometheus.yml): `docker-compose -f docker-compose.yml -f
# deploy/monitoring.yml build prometheus` builds it.
#
#   docker build -f deploy/prometheus.Dockerfile -t td3d-prometheus .
#
# A file of its own rather than a stage of deploy/Dockerfile: the classic builder
# (docker-compose 1.x, docker build without BuildKit) would build it before every td3d image.
# Behind an apt proxy: --build-arg http_proxy=http://HOST:PORT. BASE as in deploy/Dockerfile.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get -o DPkg::Lock::Timeout=600 update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/*
COPY deploy/prometheus.yml /etc/prometheus/prometheus.yml
RUN promtool check config /etc/prometheus/prometheus.yml
EXPOSE 9090
ENTRYPOINT ["prometheus", "--config.file=/etc/prometheus/prometheus.yml", \
            "--storage.tsdb.path=/prometheus", "--web.listen-address=:9090"]
