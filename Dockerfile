# syntax=docker/dockerfile:1
# leadq — multi-stage build. cgo is required (golearn links liblinear), and
# golearn's logistic regression needs GODEBUG=cgocheck=0 at run time
# (shared/FACTS.md). This file cannot be built on the project's machines (no
# Docker engine); it is kept correct by reading. See README "Docker".

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath \
      -ldflags="-s -w -X=main.version=${VERSION} -X=runtime.godebugDefault=cgocheck=0" \
      -o /out/leadq ./cmd/leadq

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /nonexistent --shell /usr/sbin/nologin leadq
COPY --from=build /out/leadq /usr/local/bin/leadq
USER 10001:10001
ENV GODEBUG=cgocheck=0 \
    LEADQ_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/leadq"]
CMD ["serve"]
