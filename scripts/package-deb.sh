#!/usr/bin/env bash
# Builds the Debian package build/promdrop_<version>_<arch>.deb around the single executable
# (scripts/build-sea.mjs: promdrop with its Node.js runtime embedded), with dpkg-deb alone (no
# debhelper, no fakeroot). `npm run release` builds the executable first. The package needs no
# Node.js on the host: it depends only on what every stock Debian 12 and Ubuntu 22.04 has.
#
# Layout (docs/service.md explains the choices):
#   /usr/bin/promdrop                                  the executable
#   /usr/lib/systemd/system/promdrop.{service,socket}, /usr/lib/tmpfiles.d/promdrop.conf
#   /etc/default/promdrop (conffile), /usr/share/doc/promdrop/ (copyright with the embedded
#       Node.js runtime's licence, docs, examples)
# Maintainer scripts: scripts/deb/{postinst,prerm,postrm}.
#
# Environment: PROMDROP_EXECUTABLE (default build/sea/linux-x64/promdrop), PROMDROP_DEB_ARCH
# (its Debian architecture, default amd64), PROMDROP_NODE_LICENSE (the embedded runtime's
# LICENSE, default the pinned runtime's, see scripts/node-runtime.mjs), PROMDROP_DEB_OUT (output
# directory, default build), PROMDROP_DEB_VERSION (the package version, default package.json's;
# the tests build a later one to upgrade to), PROMDROP_DEB_MAINTAINER. Prints the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
# Directories created on the way get 0755 whatever the caller's umask.
umask 022

die() {
  echo "package-deb: $*" >&2
  exit 1
}

command -v dpkg-deb >/dev/null || die "dpkg-deb not found (apt-get install dpkg)"
executable=${PROMDROP_EXECUTABLE:-build/sea/linux-x64/promdrop}
[ -x "$executable" ] || die "$executable is missing: run npm run build:sea first (or npm run release)"
arch=${PROMDROP_DEB_ARCH:-amd64}
node_license=${PROMDROP_NODE_LICENSE:-$(node scripts/node-runtime.mjs embedded "$([ "$arch" = arm64 ] && echo arm64 || echo x64)")/LICENSE}
[ -f "$node_license" ] || die "$node_license (the embedded Node.js runtime's licence) is missing"

version=$(node -p 'require("./package.json").version')
# Debian sorts "~" before anything, as semver sorts a pre-release before its release.
deb_version=${PROMDROP_DEB_VERSION:-${version//-/\~}}
maintainer=${PROMDROP_DEB_MAINTAINER:-promdrop maintainers <promdrop@localhost>}
out=${PROMDROP_DEB_OUT:-build}

staging=$out/deb/promdrop
output=$out/promdrop_${deb_version}_${arch}.deb
rm -rf "$staging"
mkdir -p "$staging/DEBIAN"

# -m sets each mode; dpkg-deb --root-owner-group makes every file root:root in the archive.
install -D -m 0755 "$executable" "$staging/usr/bin/promdrop"

install -D -m 0644 systemd/promdrop.service "$staging/usr/lib/systemd/system/promdrop.service"
# The package installs docs/service.md below (in $doc): only here can the unit point at it.
sed -i '/^Description=/a Documentation=file:/usr/share/doc/promdrop/service.md' "$staging/usr/lib/systemd/system/promdrop.service"
install -D -m 0644 systemd/promdrop.socket "$staging/usr/lib/systemd/system/promdrop.socket"
install -D -m 0644 systemd/promdrop.tmpfiles "$staging/usr/lib/tmpfiles.d/promdrop.conf"
install -D -m 0644 systemd/default "$staging/etc/default/promdrop"

doc=$staging/usr/share/doc/promdrop
install -d -m 0755 "$doc/examples/systemd" "$doc/examples/alerts"
install -m 0644 README.md docs/service.md docs/writing.md docs/agent.md "$doc/"
install -m 0644 examples/systemd/promdrop-dirsize.service examples/systemd/promdrop-dirsize.timer "$doc/examples/systemd/"
install -m 0755 examples/systemd/dirsize.sh "$doc/examples/systemd/"
install -m 0644 examples/alerts/*.yml "$doc/examples/alerts/"
cat >"$doc/copyright" <<'COPYRIGHT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: promdrop
Comment: /usr/bin/promdrop is a Node.js single executable application: the Node.js
 runtime with an esbuild bundle of promdrop and of its npm dependencies (chokidar,
 commander, fastify, pino, prom-client, proper-lockfile and theirs, each under its own
 MIT, ISC or Apache-2.0 license) embedded in it.

Files: *
Copyright: promdrop contributors
License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 is in
 /usr/share/common-licenses/Apache-2.0.

Files: usr/bin/promdrop
Copyright: Node.js contributors and the authors of the software Node.js bundles
License: MIT and others
 The Node.js runtime embedded in the executable; its licence and those of the software
 it includes are in /usr/share/doc/promdrop/NOTICE.node.
COPYRIGHT
chmod 0644 "$doc/copyright"
install -m 0644 "$node_license" "$doc/NOTICE.node"

install -m 0755 scripts/deb/postinst scripts/deb/prerm scripts/deb/postrm "$staging/DEBIAN/"
echo /etc/default/promdrop >"$staging/DEBIAN/conffiles"

installed_size=$(du -s -k --exclude=DEBIAN "$staging" | cut -f1)
# What the executable links (ldd: libc, libm, libdl, libpthread, libstdc++, libgcc_s) at the
# newest symbol versions it uses (objdump -T: GLIBC_2.28, GLIBCXX_3.4.21 of GCC 5): all in every
# stock Debian 12 and Ubuntu 22.04, and no nodejs.
cat >"$staging/DEBIAN/control" <<CONTROL
Package: promdrop
Version: $deb_version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: adduser, libc6 (>= 2.28), libgcc-s1, libstdc++6 (>= 5.2)
Section: net
Priority: optional
Description: validated Prometheus textfile metrics, served from memory
 promdrop replaces node_exporter's textfile collector. Its agent (promdrop serve,
 the promdrop.service unit) watches /var/lib/promdrop, validates every *.prom file
 as promtool does, and serves the merged result from memory on port 10049, with
 the textfile collector's meta metrics and a reason for every refused file.
 .
 Its command line writes those files safely from cron jobs and timers: validated,
 atomic and locked (promdrop write, set, inc, delete), and records a job's outcome
 (promdrop run). Root and members of the promdrop-writers group may write metrics.
CONTROL

(cd "$staging" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$staging/DEBIAN/md5sums"
chmod 0644 "$staging/DEBIAN/control" "$staging/DEBIAN/conffiles" "$staging/DEBIAN/md5sums"

# zstd, which dpkg reads since Debian 12 and Ubuntu 21.10: xz took about five minutes over the
# 130 MB executable on a busy 2-core machine, zstd seconds, for a package about 40% larger.
dpkg-deb --root-owner-group -Zzstd --build "$staging" "$output" >/dev/null
echo "$output"
