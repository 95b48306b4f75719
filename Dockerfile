# syntax=docker/dockerfile:1
# Build: docker build -t masterclass-bot .
# Run:   docker run --env-file .env -v masterclass-data:/data masterclass-bot
#
# Dependencies are built in their own layer (cargo-chef), which stays cached until Cargo.toml or
# Cargo.lock change: editing the bot's code rebuilds only the bot.

FROM rust:1-slim-bookworm AS chef
RUN cargo install cargo-chef --locked
WORKDIR /src
# Queries are checked against the committed .sqlx/ cache, not a live database.
ENV SQLX_OFFLINE=true

# The recipe: what the dependency build depends on (manifests and the lock file). Only what the
# build needs is copied (never target/ or .env); the targets Cargo.toml names must exist.
FROM chef AS planner
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
# The cached layer: every dependency, built as the bot's release build will want it.
RUN cargo chef cook --release --recipe-path recipe.json
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
# Embedded in the binary at compile time (sqlx::migrate!), checked offline against .sqlx/.
COPY migrations ./migrations
COPY .sqlx ./.sqlx
RUN cargo build --release --locked --bin masterclass-bot

FROM debian:bookworm-slim AS runtime
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
