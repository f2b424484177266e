FROM registry.access.redhat.com/ubi9/ubi-minimal:9.3
RUN microdnf install -y shadow-utils && microdnf clean all
RUN <<EOT
useradd -r app
mkdir -p /data
EOT
USER 1001
CMD ["/usr/bin/app"]
