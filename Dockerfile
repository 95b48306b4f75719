# syntax=docker/dockerfile:1
# Build: docker build -t masterclass-bot .
# Run:   docker run --env-file .env -v masterclass-data:/data masterclass-bot

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY benches ./benches
RUN cargo build --release --locked --bin masterclass-bot

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin bot \
    && mkdir -p /data && chown bot /data
WORKDIR /app
COPY --from=build /src/target/release/masterclass-bot /usr/local/bin/masterclass-bot
COPY config ./config
# The SQLite file and the .eml fallback live on the volume; everything else comes from the environment.
ENV MCB_DATABASE__PATH=/data/masterclass.db \
    MCB_EMAIL__OUTBOX_DIR=/data/mail
VOLUME ["/data"]
USER bot
CMD ["masterclass-bot"]
