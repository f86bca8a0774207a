# Glossa (embedded mode) image. Untested on the development machines, which have no Docker engine.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/glossa

FROM debian:bookworm-slim
COPY --from=build /src/target/release/glossa /usr/local/bin/glossa
ENV GLOSSA_DATA_DIR=/data GLOSSA_LISTEN=0.0.0.0:8080 GLOSSA_LOG_FORMAT=json
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["glossa"]
CMD ["serve"]
