#!/usr/bin/env bash
# Builds build/promdrop-<version>-1.x86_64.rpm around the single executable (scripts/build-sea.mjs)
# with rpmbuild (Debian's `rpm` package builds it too): the same files as the .deb
# (scripts/package-deb.sh), the same hardened unit, accounts, tmpfiles line, directory and
# /etc/default/promdrop (the unit's EnvironmentFile), with rpm's conventions for the rest: the
# accounts are made in %pre, systemd's preset decides on enabling, and as rpm has no purge, the
# accounts and the textfiles stay after `rpm -e`.
#
# Environment: PROMDROP_EXECUTABLE (default build/sea/linux-x64/promdrop), PROMDROP_RPM_OUT
# (output directory, default build). Prints the path of the .rpm.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022

die() {
  echo "package-rpm: $*" >&2
  exit 1
}

command -v rpmbuild >/dev/null || die "rpmbuild not found (apt-get install rpm)"
executable=${PROMDROP_EXECUTABLE:-build/sea/linux-x64/promdrop}
[ -x "$executable" ] || die "$executable is missing: run npm run build:sea first (or npm run release)"
node_license=$(node scripts/node-runtime.mjs embedded x64)/LICENSE
version=$(node -p 'require("./package.json").version')
# rpm versions cannot hold "-": a pre-release sorts before its release with "~", as in Debian.
rpm_version=${version//-/\~}
out=$(realpath -m "${PROMDROP_RPM_OUT:-build}")
top=$out/rpm
rm -rf "$top"
mkdir -p "$top/SOURCES" "$top/SPECS"

sources=$top/SOURCES
install -m 0755 "$executable" "$sources/promdrop"
install -m 0644 systemd/promdrop.service systemd/promdrop.socket systemd/promdrop.tmpfiles systemd/default LICENSE README.md "$sources/"
install -m 0644 "$node_license" "$sources/NOTICE.node"
install -m 0644 examples/alerts/promdrop.rules.yml "$sources/"

cat >"$top/SPECS/promdrop.spec" <<SPEC
Name: promdrop
Version: $rpm_version
Release: 1
Summary: validated Prometheus textfile metrics, served from memory
License: Apache-2.0 and MIT
URL: https://github.com/promdrop/promdrop
BuildArch: x86_64
# The executable is a Node.js single executable application: the generated dependencies would
# be the C and C++ runtimes every distribution installs; and it must not be stripped (its
# program is data in the binary).
AutoReqProv: no
Requires: glibc >= 2.28, libstdc++, shadow-utils
Requires(pre): shadow-utils
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none

%description
promdrop replaces node_exporter's textfile collector. Its agent (promdrop serve, the
promdrop.service unit) watches /var/lib/promdrop, validates every *.prom file as promtool
does, and serves the merged result from memory on port 10049. Its command line writes
those files safely from cron jobs and timers. Root and members of the promdrop-writers
group may write metrics. No Node.js is needed: the runtime is embedded.

%install
install -D -m 0755 %{_sourcedir}/promdrop %{buildroot}/usr/bin/promdrop
install -D -m 0644 %{_sourcedir}/promdrop.service %{buildroot}/usr/lib/systemd/system/promdrop.service
install -D -m 0644 %{_sourcedir}/promdrop.socket %{buildroot}/usr/lib/systemd/system/promdrop.socket
install -D -m 0644 %{_sourcedir}/promdrop.tmpfiles %{buildroot}/usr/lib/tmpfiles.d/promdrop.conf
install -D -m 0644 %{_sourcedir}/default %{buildroot}/etc/default/promdrop
install -D -m 0644 %{_sourcedir}/promdrop.rules.yml %{buildroot}/usr/share/doc/promdrop/examples/alerts/promdrop.rules.yml
install -D -m 0644 %{_sourcedir}/README.md %{buildroot}/usr/share/doc/promdrop/README.md
install -D -m 0644 %{_sourcedir}/LICENSE %{buildroot}/usr/share/licenses/promdrop/LICENSE
install -D -m 0644 %{_sourcedir}/NOTICE.node %{buildroot}/usr/share/licenses/promdrop/NOTICE.node

%pre
getent group promdrop-writers >/dev/null || groupadd --system promdrop-writers
getent group promdrop >/dev/null || groupadd --system promdrop
getent passwd promdrop >/dev/null || useradd --system --gid promdrop --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --comment 'promdrop agent' promdrop
exit 0

%post
systemd-tmpfiles --create promdrop.conf >/dev/null 2>&1 || :
if [ \$1 -eq 1 ] && [ -d /run/systemd/system ]; then systemctl --no-reload preset promdrop.service >/dev/null 2>&1 || :; fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || :; fi

%preun
if [ \$1 -eq 0 ] && [ -d /run/systemd/system ]; then systemctl --no-reload disable --now promdrop.socket promdrop.service >/dev/null 2>&1 || :; fi

%postun
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || :; fi
if [ \$1 -ge 1 ] && [ -d /run/systemd/system ]; then systemctl try-restart promdrop.service >/dev/null 2>&1 || :; fi
# The textfiles are the user's data: the directory and the accounts stay (rpm has no purge).

%files
/usr/bin/promdrop
/usr/lib/systemd/system/promdrop.service
/usr/lib/systemd/system/promdrop.socket
/usr/lib/tmpfiles.d/promdrop.conf
%config(noreplace) /etc/default/promdrop
%doc /usr/share/doc/promdrop
%license /usr/share/licenses/promdrop
SPEC

# Debian's rpmbuild keeps its database under the caller's home; nothing here needs one.
rpmbuild --quiet -bb --target x86_64 --define "_topdir $top" --define '_binary_payload w6.gzdio' "$top/SPECS/promdrop.spec" >/dev/null
rpm=$top/RPMS/x86_64/promdrop-$rpm_version-1.x86_64.rpm
[ -f "$rpm" ] || die "rpmbuild made no $rpm"
mv "$rpm" "$out/"
rm -rf "$top"
echo "$out/$(basename "$rpm")"
