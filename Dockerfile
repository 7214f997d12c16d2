# syntax=docker/dockerfile:1
# The brixlet image: one image for `brixlet agent`, `brixlet coordinator` and `brixlet up`.
#
#   docker build -t ghcr.io/brixlet/brixlet:0.1.0 .
#   docker run --rm ghcr.io/brixlet/brixlet:0.1.0 up --accel sim:healthy-8x-h100 --engines 2
#
# The ENTRYPOINT is the brixlet CLI, so arguments start with the subcommand (the chart's `args:`
# are `agent …` / `coordinator …`). Layout:
#   /usr/local/lib/brixlet       the npm package (dist/, production node_modules, mocks/scenarios for
#                                --accel sim:<name>, profiles/ for `up --engines`); /usr/local/bin/brixlet
#   /opt/brixlet/libbrixlet-inject.so, libbrixlet-inject-nvml.so, libbrixlet-inject-dcmi.so
#                                the fault-injection interposer and its two dlopen proxies
#                                (native/README.md; install the three together). The mock NVML/DCMI
#                                libraries are test fixtures and are not shipped: real nodes bring
#                                the driver's, and --accel sim needs none.
# User: brixlet, uid/gid 65532, no home, no shell. What needs root on a node (privileged fault
# injection, hostPath slab directories owned by root) is the chart's business (chart/README.md).
# Signals: node is PID 1 and brixlet handles SIGTERM/SIGINT itself: it drains in-flight requests
# (--shutdown.timeout, default 10 s) and exits 0; a second signal exits at once. brixlet starts no
# child processes, so there are no orphans to reap and no init is needed (`docker run --init` adds
# one if you want it).
# HEALTHCHECK: GET /healthz on the agent (9464) and the coordinator's control port (8081), on
# loopback, whichever runs here (BRIXLET_AGENT_PORT / BRIXLET_CONTROL_PORT move them;
# scripts/image/healthcheck.mjs). podman keeps it only with `podman build --format docker`.
#
# Where no registry is reachable, scripts/image/build-test-base.sh makes local stand-ins for both
# bases (test/e2e/image.test.ts passes them as BASE_IMAGE / BUILD_IMAGE).

ARG BASE_IMAGE=node:20-bookworm-slim
ARG BUILD_IMAGE=node:20-bookworm

# --- build: npm ci (koffi's install script; prepare = npm run build: tsc → dist/, make -C native),
# then only the production dependencies are kept, without their type declarations and source maps
# (nothing reads them at run time; @kubernetes/client-node alone carries ~45 MB of them).
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
ENV npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
# Only what the build reads: edits elsewhere in the tree (docs, chart, tests) keep this stage cached.
COPY package.json package-lock.json tsconfig.json ./
COPY scripts/build.mjs scripts/build-native.mjs scripts/
COPY native native
COPY src src
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci && npm prune --omit=dev \
    && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete \
    && test -x dist/cli/main.js \
    && test -f native/build/libbrixlet-inject.so \
    && test -f native/build/libbrixlet-inject-nvml.so \
    && test -f native/build/libbrixlet-inject-dcmi.so

# --- runtime
FROM ${BASE_IMAGE}
# The user first: this layer depends on the base only and stays cached across code changes.
# /run/brixlet is the default KV socket directory (--kv.socket /run/brixlet/kv.sock).
RUN groupadd --system --gid 65532 brixlet \
    && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin brixlet \
    && mkdir -p /run/brixlet /opt/brixlet \
    && chown 65532:65532 /run/brixlet \
    && ln -s ../lib/brixlet/dist/cli/main.js /usr/local/bin/brixlet

WORKDIR /usr/local/lib/brixlet
COPY LICENSE NOTICE ./
COPY mocks/README.md mocks/
COPY mocks/scenarios mocks/scenarios
COPY profiles profiles
COPY scripts/image/healthcheck.mjs scripts/image/healthcheck.mjs
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY --from=build /src/native/build/libbrixlet-inject.so /src/native/build/libbrixlet-inject-nvml.so /src/native/build/libbrixlet-inject-dcmi.so /opt/brixlet/

ENV NODE_ENV=production
USER 65532:65532
# gateway, control, agent HTTP, KV peer
EXPOSE 8080 8081 9464 9465
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["node", "/usr/local/lib/brixlet/scripts/image/healthcheck.mjs"]
# Last, so that a new version, revision or date re-commits only this step.
ARG BASE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=""
ARG CREATED=""
LABEL org.opencontainers.image.title="brixlet" \
      org.opencontainers.image.description="LLM-serving infrastructure for Kubernetes GPU clusters: per-node agent (KV cache shard, accelerator diagnostics, fault injection) and coordinator (gateway, registry, GPU optimizer, ModelFleet orchestration)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/brixlet/brixlet" \
      org.opencontainers.image.url="https://github.com/brixlet/brixlet" \
      org.opencontainers.image.documentation="https://github.com/brixlet/brixlet#readme" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="brixlet" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

ENTRYPOINT ["node", "--max-semi-space-size=2", "/usr/local/lib/brixlet/dist/cli/main.js"]
CMD ["--help"]
