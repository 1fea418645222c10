# One image for every service; the command picks the service:
#   docker run logstream node dist/producer.js          (or dist/processor.js, dist/gateway.js; dist/cli/dlq.js …)
# Debian (glibc), not Alpine: uWebSockets.js ships prebuilt binaries linked against glibc only.
# The services run as JavaScript compiled once here (npm run build: scripts/build.ts, esbuild), the page script
# bundled into the gateway's: no TypeScript, tsx or esbuild in the runtime stage (issue 13 point 6).

# --- build: every dependency, a typecheck (an image is only ever made from sources that compile), the bundles ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Manifests first: this layer is rebuilt when dependencies change, not on every source edit.
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY producer/package.json producer/
COPY processor/package.json processor/
COPY gateway/package.json gateway/
COPY web/package.json web/
COPY cli/package.json cli/
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY shared shared
COPY producer producer
COPY processor processor
COPY gateway gateway
COPY web web
COPY cli cli
COPY scripts/ensure-install.mjs scripts/build.ts scripts/
RUN npx tsc --noEmit -p tsconfig.json
# A bundling error (a service's or the page's) fails here, not at a container's start.
RUN npm run build

# --- runtime: production dependencies only, non-root ------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/shared/package.json shared/
COPY --from=build /app/producer/package.json producer/
COPY --from=build /app/processor/package.json processor/
COPY --from=build /app/gateway/package.json gateway/
COPY --from=build /app/web/package.json web/
COPY --from=build /app/cli/package.json cli/
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist dist
# The files the bundles read at run time, where they lie in the tree (each module's import.meta.url is its source
# file's: scripts/build.ts): migrations, the producer's Lua scripts and .proto files, the page's static files.
COPY --from=build /app/shared/migrations shared/migrations
COPY --from=build /app/producer/src/scripts producer/src/scripts
COPY --from=build /app/producer/proto producer/proto
COPY --from=build /app/web/index.html /app/web/style.css web/
# The image's unprivileged `node` user (uid 1000) runs the services; the code stays root-owned, read-only to them.
USER node
# Every service reads its listen port from PORT (CONTRACT §2), so platforms that inject PORT just work; without it
# a service listens on its own default: producer 8001, gateway 8002, processor 8003 (health and metrics only).
EXPOSE 8001 8002 8003 4318 5514 5514/udp
# Containers are reached from outside their own loopback: every interface (the services default to 127.0.0.1).
ENV HOST=0.0.0.0
# The services drain on SIGTERM (the processor finishes and acks its batch): node runs as PID 1 and handles it.
STOPSIGNAL SIGTERM
CMD ["node", "dist/producer.js"]
