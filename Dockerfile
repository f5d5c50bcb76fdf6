# The image `rl deploy kubernetes` runs: the learner and the workers alike (entrypoint `rl`).
#   docker build -t REGISTRY/rl-zmq:0.2 . && docker push REGISTRY/rl-zmq:0.2
# Node 20 on Debian bookworm-slim, CPU backends (wasm, cpu). Dependencies install without their
# install scripts, as in development (npm 11 runs none): zeromq, esbuild and msgpackr ship
# prebuilt binaries in their packages; @tensorflow/tfjs-node-gpu (optional) would need its
# script and CUDA libraries, which this image does not have (see docs/kubernetes.md).

# Build: everything, dev dependencies too (tsc), then the dev dependencies are pruned.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# Run: the built dist/ and the runtime dependencies, as a non-root user.
FROM node:20-bookworm-slim
# A module env's bundle (in the learner's ConfigMap, or shipped to a worker) does
# require('rl-zmq'): NODE_PATH holds a link to the app under that name.
ENV NODE_ENV=production NODE_PATH=/opt/rl/node_modules
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /opt/rl/node_modules \
    && ln -s /app /opt/rl/node_modules/rl-zmq \
    && chmod 755 /app/dist/src/cli.js \
    && ln -s /app/dist/src/cli.js /usr/local/bin/rl \
    && mkdir -p /etc/rl /var/lib/rl/run /var/cache/rl \
    && chown 1000:1000 /var/lib/rl/run /var/cache/rl
# The image's `node` user, by number, so that Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 5555 5556
ENTRYPOINT ["rl"]
CMD ["--help"]
