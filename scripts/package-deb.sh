#!/usr/bin/env bash
# Builds the Debian package build/promdrop_<version>_all.deb from the bundles in dist/, with
# dpkg-deb alone (no debhelper, no fakeroot). `npm run package:deb` builds dist/ first.
#
# Layout (docs/service.md explains the choices):
#   /usr/lib/promdrop/{bin/promdrop,bin/load-cli.cjs,bin/package.json,dist/*.cjs,dist/cli.cjs.v8-cache,package.json}  the program; the
#       bundles carry their dependencies, so no node_modules
#   /usr/bin/promdrop -> ../lib/promdrop/bin/promdrop
#   /usr/lib/systemd/system/promdrop.{service,socket}, /usr/lib/tmpfiles.d/promdrop.conf
#   /etc/default/promdrop (conffile), /usr/share/doc/promdrop/ (copyright, docs, examples)
# Maintainer scripts: scripts/deb/{postinst,prerm,postrm}.
#
# Environment: PROMDROP_DEB_OUT (output directory, default build), PROMDROP_DEB_VERSION (the
# package version, default package.json's; the tests build a later one to upgrade to),
# PROMDROP_DEB_MAINTAINER. Prints the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
# Directories created on the way get 0755 whatever the caller's umask.
umask 022

die() {
  echo "package-deb: $*" >&2
  exit 1
}

command -v dpkg-deb >/dev/null || die "dpkg-deb not found (apt-get install dpkg)"
bundles=(cli agent-serve agent-store agent-watcher)
for bundle in "${bundles[@]}"; do
  [ -f "dist/$bundle.cjs" ] || die "dist/$bundle.cjs is missing: run npm run build first (or npm run package:deb)"
done

version=$(node -p 'require("./package.json").version')
# Debian sorts "~" before anything, as semver sorts a pre-release before its release.
deb_version=${PROMDROP_DEB_VERSION:-${version//-/\~}}
maintainer=${PROMDROP_DEB_MAINTAINER:-promdrop maintainers <promdrop@localhost>}
out=${PROMDROP_DEB_OUT:-build}

staging=$out/deb/promdrop
output=$out/promdrop_${deb_version}_all.deb
rm -rf "$staging"
mkdir -p "$staging/DEBIAN"

# -m sets each mode; dpkg-deb --root-owner-group makes every file root:root in the archive.
install -d -m 0755 "$staging/usr/lib/promdrop/bin" "$staging/usr/lib/promdrop/dist" "$staging/usr/bin"
for bundle in "${bundles[@]}"; do
  install -m 0644 "dist/$bundle.cjs" "$staging/usr/lib/promdrop/dist/"
done
# Debian's node, which the package depends on, by its path: `env node` would take whatever node
# comes first on PATH (an older one in /usr/local/bin, say).
sed '1s|^#!.*|#!/usr/bin/node|' bin/promdrop >"$staging/usr/lib/promdrop/bin/promdrop"
chmod 0755 "$staging/usr/lib/promdrop/bin/promdrop"
install -m 0644 bin/package.json bin/load-cli.cjs "$staging/usr/lib/promdrop/bin/"
# V8's code cache for the CLI (bin/load-cli.cjs): used when the installed node is the one that
# built it, ignored otherwise.
install -m 0644 dist/cli.cjs.v8-cache "$staging/usr/lib/promdrop/dist/"
# Only what identifies the program: no scripts or dependencies to act on.
node -e '
  const p = require("./package.json");
  const { name, version, description, license, type, engines } = p;
  process.stdout.write(JSON.stringify({ name, version, description, license, type, engines }, null, 2) + "\n");
' >"$staging/usr/lib/promdrop/package.json"
chmod 0644 "$staging/usr/lib/promdrop/package.json"
ln -s ../lib/promdrop/bin/promdrop "$staging/usr/bin/promdrop"

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
Comment: /usr/lib/promdrop/dist/*.cjs are esbuild bundles of promdrop and of its npm
 dependencies (chokidar, commander, fastify, pino, prom-client, proper-lockfile and theirs),
 each under its own MIT, ISC or Apache-2.0 license.

Files: *
Copyright: promdrop contributors
License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
COPYRIGHT
chmod 0644 "$doc/copyright"

install -m 0755 scripts/deb/postinst scripts/deb/prerm scripts/deb/postrm "$staging/DEBIAN/"
echo /etc/default/promdrop >"$staging/DEBIAN/conffiles"

installed_size=$(du -s -k --exclude=DEBIAN "$staging" | cut -f1)
cat >"$staging/DEBIAN/control" <<CONTROL
Package: promdrop
Version: $deb_version
Architecture: all
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: adduser, nodejs (>= 20.19)
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

dpkg-deb --root-owner-group -Zxz --build "$staging" "$output" >/dev/null
echo "$output"
