ARG BASE=debian:12-slim
ARG GO_VERSION=1.22

FROM golang:${GO_VERSION} AS build
WORKDIR /src
RUN apt-get update && apt-get install -y git
COPY . .
RUN go build -o /out/app ./cmd/app

FROM ${BASE} AS final
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      # comments inside a continuation are skipped
      tzdata \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/app /app
USER nonroot
ENTRYPOINT ["/app"]
