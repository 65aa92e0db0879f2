#!/usr/bin/env bash
# `npm run release`: every release artefact into build/, from a checkout with its npm
# dependencies installed (npm ci):
#   promdrop-VERSION.linux-amd64.tar.gz   laid out like node_exporter's release tarballs: one
#       directory with the single executable, LICENSE, NOTICE (with the embedded Node.js
#       runtime's licence), the systemd unit files and the example alerts
#   promdrop_VERSION_amd64.deb            scripts/package-deb.sh
#   promdrop-VERSION-1.x86_64.rpm         scripts/package-rpm.sh (when rpmbuild is installed)
#   promdrop-VERSION.tgz                  the npm package (npm pack), for hosts that have Node.js
#   sha256sums.txt                        of all of the above, as `sha256sum -c` reads it
#   promdrop-VERSION.linux-arm64.tar.gz   the same for arm64 (its blob without code cache: the
#       x64 runtime that makes the blob cannot make arm64 code; run here under qemu-user only)
# PROMDROP_RELEASE_ARCHS (default "amd64 arm64") chooses the tarballs.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022

version=$(node -p 'require("./package.json").version')
out=build
mkdir -p "$out"
artefacts=()

npm run --silent build
for arch in ${PROMDROP_RELEASE_ARCHS:-amd64 arm64}; do
  case "$arch" in
    amd64) node_arch=x64 ;;
    arm64) node_arch=arm64 ;;
    *) echo "release: unknown architecture $arch (amd64, arm64)" >&2 && exit 2 ;;
  esac
  executable=$(node scripts/build-sea.mjs "$node_arch")
  runtime=$(node scripts/node-runtime.mjs embedded "$node_arch")
  name=promdrop-$version.linux-$arch
  staging=$out/tarball/$name
  rm -rf "$out/tarball" && mkdir -p "$staging/systemd" "$staging/examples/alerts"
  install -m 0755 "$executable" "$staging/promdrop"
  install -m 0644 LICENSE "$staging/LICENSE"
  {
    echo "promdrop $version"
    echo "Copyright promdrop contributors. Licensed under the Apache License, Version 2.0 (LICENSE)."
    echo
    echo "The executable promdrop is a Node.js single executable application: it embeds the"
    echo "Node.js runtime $(basename "$runtime" | sed 's/.*-//') (linux-$node_arch) and an esbuild bundle of promdrop and of its"
    echo "npm dependencies (chokidar, commander, fastify, pino, prom-client,"
    echo "proper-lockfile and theirs, each under its own MIT, ISC or Apache-2.0 license)."
    echo "The Node.js runtime's licence, and those of the software it includes, follow."
    echo
    cat "$runtime/LICENSE"
  } >"$staging/NOTICE"
  chmod 0644 "$staging/NOTICE"
  install -m 0644 systemd/promdrop.service systemd/promdrop.socket "$staging/systemd/"
  install -m 0644 systemd/promdrop.tmpfiles "$staging/systemd/promdrop.tmpfiles.conf"
  install -m 0644 systemd/default "$staging/systemd/promdrop.default"
  install -m 0644 examples/alerts/promdrop.rules.yml "$staging/examples/alerts/"
  tarball=$out/$name.tar.gz
  # Owned by root, dated by the last commit: the same checkout gives the same archive listing.
  mtime=$(git log -1 --format=%cI 2>/dev/null || date -u +%FT%TZ)
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="$mtime" -C "$out/tarball" -czf "$tarball" "$name"
  rm -rf "$out/tarball"
  artefacts+=("$tarball")

  if [ "$arch" = amd64 ]; then
    artefacts+=("$(PROMDROP_EXECUTABLE="$executable" PROMDROP_DEB_ARCH=amd64 PROMDROP_DEB_OUT="$out" bash scripts/package-deb.sh)")
    if command -v rpmbuild >/dev/null; then
      artefacts+=("$out/$(basename "$(PROMDROP_EXECUTABLE="$executable" PROMDROP_RPM_OUT="$out" bash scripts/package-rpm.sh)")")
    else
      echo "release: rpmbuild not found (apt-get install rpm): no .rpm" >&2
    fi
  fi
done

artefacts+=("$out/$(npm pack --silent --pack-destination "$out" | tail -1)")

(cd "$out" && sha256sum "${artefacts[@]#"$out/"}" >sha256sums.txt)
for artefact in "${artefacts[@]}" "$out/sha256sums.txt"; do
  printf '%s\t%s\n' "$(du -h "$artefact" | cut -f1)" "$artefact"
done
