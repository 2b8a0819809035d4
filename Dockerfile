# syntax=docker/dockerfile:1
# npmsweep in a container: a static (musl) binary on Alpine. Alpine rather
# than scratch so that CI systems which run a script inside the image
# (GitLab CI, Jenkins, Buildkite) find a shell.
#
#   docker build --build-arg NPMSWEEP_BUILD_COMMIT="$(git rev-parse --short=12 HEAD)" -t npmsweep .
#   docker run --rm -v "$PWD:/src" npmsweep scan .
#
# The build needs no credential and the image holds none: nothing is
# fetched at run time, and npmsweep never uses the network.
FROM rust:1.95-alpine3.22 AS build
RUN apk add --no-cache musl-dev
WORKDIR /build
COPY . .
# .git is not in the build context (.dockerignore): --version names the
# commit passed here instead.
ARG NPMSWEEP_BUILD_COMMIT=""
RUN NPMSWEEP_BUILD_COMMIT="$NPMSWEEP_BUILD_COMMIT" cargo build --release --locked \
 && ./target/release/npmsweep --version \
 && ./target/release/npmsweep scan . --quiet

FROM alpine:3.22
COPY --from=build /build/target/release/npmsweep /usr/local/bin/npmsweep
# Runs as root so that a mounted checkout owned by any user can be read,
# including its git history; pass --user to run unprivileged.
WORKDIR /src
ENTRYPOINT ["/usr/local/bin/npmsweep"]
CMD ["scan", "."]
