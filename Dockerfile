# syntax=docker/dockerfile:1
#
# Prism's two runtimes from one Dockerfile, as two final targets:
#
#   docker build --target server -t prism-server .   # HTTP + Socket.IO on PORT, serves the web build
#   docker build --target worker -t prism-worker .   # BullMQ jobs; /health on WORKER_HEALTH_PORT
#
# One file rather than Dockerfile.server + Dockerfile.worker because both are built from the same
# lockfile and the same `build` stage (one install, one build of core/store inside both bundles):
# two files would repeat that half and drift apart, and with one file `docker compose build` and
# `cdk deploy` build the shared stages once for both images.
#
# The final images hold only what `node server/dist/main.js` / `node worker/dist/main.js` load:
# the bundle (Prism's own workspaces are inside it), the npm packages it imports at run time
# (production dependencies of that one workspace, installed apart from the build), and for the
# server the static web build. They run as the unprivileged `node` user, with node as the process
# that receives SIGTERM (exec-form CMD; compose adds `init: true`, ECS `initProcessEnabled`).
# Configuration is the environment of CONTRACT.md section 2; nothing is baked in but defaults.

ARG NODE_IMAGE=node:24.21.0-trixie-slim

# ---------------------------------------------------------------------------------------------
# The lockfile and every workspace's package.json: npm reads all of them to install any one.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
ENV npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY package.json package-lock.json ./
COPY core/package.json core/
COPY store/package.json store/
COPY server/package.json server/
COPY worker/package.json worker/
COPY web/package.json web/
COPY loadtest/package.json loadtest/
COPY infra/package.json infra/

# ---------------------------------------------------------------------------------------------
# Everything the build needs: the root's dev tools (esbuild, TypeScript, the repository's Node)
# and the web, server and worker workspaces. Not infra (aws-cdk-lib is ~300 MB) nor loadtest.
#
# `npm ci || npm install`: this repository's lockfile is written on machines whose npm is
# configured with omit-lockfile-registry-resolved, which leaves out other platforms' optional
# packages (@biomejs/cli-darwin-arm64, ...). `npm ci` then refuses the lockfile as out of sync
# before installing anything; `npm install` installs the same locked versions and fills in this
# platform's optional packages (scripts/lib.sh does the same). The lockfile inside the image may
# change; the one in the repository does not.
FROM manifests AS build-deps
RUN --mount=type=cache,target=/root/.npm \
    npm ci --include-workspace-root --workspace=web --workspace=server --workspace=worker \
    || npm install --include-workspace-root --workspace=web --workspace=server --workspace=worker

# ---------------------------------------------------------------------------------------------
# `npm run build` for what the images run: the static web app and the two bundles. (The root
# `npm run build` builds every workspace after a dependency check; here the three are named.)
FROM build-deps AS build
COPY tsconfig.json ./
COPY scripts/bundle.mjs scripts/
COPY core core
COPY store store
COPY server server
COPY worker worker
COPY web web
RUN npm run build --workspace=web --workspace=server --workspace=worker

# ---------------------------------------------------------------------------------------------
# Production dependencies of one workspace each (with those of core and store, which the bundle
# contains): no dev tools, no web toolchain, no CDK. The @prism/* links point at workspace folders
# the final images do not have; the bundles never import them.
FROM manifests AS server-deps
RUN --mount=type=cache,target=/root/.npm \
    (npm ci --omit=dev --workspace=server || npm install --omit=dev --workspace=server) \
    && rm -rf node_modules/@prism node_modules/.package-lock.json

FROM manifests AS worker-deps
RUN --mount=type=cache,target=/root/.npm \
    (npm ci --omit=dev --workspace=worker || npm install --omit=dev --workspace=worker) \
    && rm -rf node_modules/@prism node_modules/.package-lock.json

# ---------------------------------------------------------------------------------------------
# What both final images share: Node, production mode, and a .data folder for the default `file:`
# object store (compose and AWS use S3) owned by `node`, the unprivileged user each target runs as.
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
RUN mkdir -p /app/.data && chown node:node /app/.data
STOPSIGNAL SIGTERM

# ---------------------------------------------------------------------------------------------
FROM runtime AS worker
COPY --from=worker-deps /app/node_modules node_modules
COPY worker/package.json worker/
COPY --from=build /app/worker/dist worker/dist
ENV WORKER_HEALTH_PORT=3001
EXPOSE 3001
USER node
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.WORKER_HEALTH_PORT || 3001) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "worker/dist/main.js"]

# ---------------------------------------------------------------------------------------------
# Last, so a plain `docker build .` gives the server.
FROM runtime AS server
COPY --from=server-deps /app/node_modules node_modules
COPY server/package.json server/
COPY --from=build /app/server/dist server/dist
COPY --from=build /app/web/build web/build
# METRICS_PORT (9464) listens on the container's loopback only and is not exposed.
ENV PORT=3000
EXPOSE 3000
USER node
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "server/dist/main.js"]
