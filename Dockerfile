# Build: the release binary. Runtime: a slim Debian with CA certificates for
# HTTPS to object storage, a non-root user, the binary as entrypoint.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The whole program is optimized at once (Cargo.toml's release profile): the
# link peaks at about 7 GiB, so the builder needs 8 GB (README).
RUN cargo build --release --locked --bin salesops

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --create-home salesops
WORKDIR /app
COPY --from=build /src/target/release/salesops /usr/local/bin/salesops
COPY pipelines ./pipelines
# The sample makes the default command useful: `docker run IMAGE` runs the
# default pipeline on it and writes the marts to /app/out. A real
# deployment passes its own pipeline file and object-store URLs.
COPY sample_data ./sample_data
USER 10001
ENTRYPOINT ["/usr/local/bin/salesops"]
CMD ["run", "--pipeline", "pipelines/default.toml", "--log-format", "json"]
