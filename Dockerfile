# One image for every service; the command picks the service:
#   docker run logstream node --import tsx producer/src/index.ts     (or processor/…, gateway/…)
# Debian (glibc), not Alpine: uWebSockets.js ships prebuilt binaries linked against glibc only.
# TypeScript runs through tsx (a runtime dependency, with esbuild, which also bundles the web page at start-up),
# so the image carries the sources, not a build output.

# --- build: every dependency, and a typecheck, so that an image is only ever made from sources that compile -----
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
RUN npx tsc --noEmit -p tsconfig.json

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
COPY --from=build /app/tsconfig.json ./
COPY --from=build /app/shared shared
COPY --from=build /app/producer producer
COPY --from=build /app/processor processor
COPY --from=build /app/gateway gateway
COPY --from=build /app/web web
COPY --from=build /app/cli cli
# The image's unprivileged `node` user (uid 1000) runs the services; the code stays root-owned, read-only to them
# (tsx caches its transpiled files under /tmp, which is writable).
USER node
# Every service reads its listen port from PORT (CONTRACT §2), so platforms that inject PORT just work; without it
# a service listens on its own default: producer 8001, gateway 8002, processor 8003 (health and metrics only).
EXPOSE 8001 8002 8003 4318 5514 5514/udp
# Containers are reached from outside their own loopback: every interface (the services default to 127.0.0.1).
ENV HOST=0.0.0.0
# The services drain on SIGTERM (the processor finishes and acks its batch): node runs as PID 1 and handles it.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "producer/src/index.ts"]
