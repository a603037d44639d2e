# syntax=docker/dockerfile:1
# Build: a static binary (no cgo), with the Asia/Tokyo zone data built in.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -tags timetzdata -ldflags="-s -w" -o /out/kakehashi ./cmd/kakehashi \
 && mkdir -p /out/data

# Run: distroless static (CA certificates, no shell), as the non-root user 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kakehashi /usr/local/bin/kakehashi
COPY --from=build --chown=65532:65532 /out/data /data
ENV KAKEHASHI_ADDR=0.0.0.0:8080 \
    KAKEHASHI_DATA_DIR=/data \
    KAKEHASHI_LOG_FORMAT=json
USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kakehashi"]
CMD ["serve"]
