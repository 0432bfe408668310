# Production image. The build stage runs the same install script as `npm start` (scripts/setup.sh):
# npm ci, then the mediasoup worker (mediasoup's prebuilt download; where that is unreachable, the
# offline build from the npm tarball against Debian packages), then the TypeScript build + SDK bundle.
FROM node:24-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY signaling ./signaling
COPY server ./server
COPY recordings ./recordings
COPY client-sdk ./client-sdk
# The prune also drops the optional node-linux-* package (Node.js 24 from the npm registry, which
# `npm start` uses on machines whose own Node is older): this image has Node.js 24 itself.
RUN bash scripts/setup.sh && npm prune --omit=dev --omit=optional

FROM node:24-bookworm-slim
# FFmpeg records each track (no transcoding) and makes HLS; the rest are the shared libraries an
# offline-built worker links against (harmless for the static prebuilt one).
COPY scripts/mediasoup-worker/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg $(sed -e 's/#.*//' /tmp/runtime-packages.txt) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/client-sdk/dist ./client-sdk/dist
COPY --from=build /app/server/public ./server/public
RUN mkdir -p /app/data && chown node:node /app/data
ENV NODE_ENV=production \
    APP_MODE=production \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=3000 \
    MEDIA_LISTEN_IP=0.0.0.0 \
    MEDIA_PORT=40000 \
    DATA_DIR=/app/data \
    NODE_OPTIONS=--max-semi-space-size=2
# Also required at run time: JWT_SECRETS or JWT_PUBLIC_KEY_FILES, CORS_ORIGINS, and MEDIA_ANNOUNCED_ADDRESS.
USER node
# HTTP + signaling; one media port per worker (UDP and TCP), 40000 + worker index.
EXPOSE 3000/tcp 40000-40015/udp 40000-40015/tcp
# Liveness (/healthz): a draining or degraded node is alive; readiness (/readyz) is for the load balancer.
HEALTHCHECK --interval=15s --timeout=3s CMD node -e "fetch('http://127.0.0.1:3000/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/server/main.js"]
