# The operator and facade images: built statically against musl, run from
# scratch as a non-root user. `docker build --target operator .` or
# `--target facade`.
FROM rust:1.95-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p supaplane-operator -p supaplane-facade \
    && mkdir -p /out \
    && cp target/release/supaplane-operator target/release/supaplane-facade /out/

FROM scratch AS base
# TLS roots for the Kubernetes API and https upstreams.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
USER 65532:65532

FROM base AS operator
COPY --from=build /out/supaplane-operator /supaplane-operator
EXPOSE 8080
ENTRYPOINT ["/supaplane-operator"]

FROM base AS facade
COPY --from=build /out/supaplane-facade /supaplane-facade
EXPOSE 8000
ENTRYPOINT ["/supaplane-facade"]
