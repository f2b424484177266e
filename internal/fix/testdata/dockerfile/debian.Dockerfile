# syntax=docker/dockerfile:1
FROM debian:12
# Tools the app shells out to.
RUN apt-get update && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*
COPY app /usr/local/bin/app
CMD ["app"]
