#!/usr/bin/env bash
# Install the system tools elforge drives: rpmbuild/rpmspec/rpm2cpio, libabigail, libsolv's
# installcheck, createrepo_c, git, patch, bubblewrap and librpm's Python bindings (the test
# oracle). Debian/Ubuntu through apt-get, Fedora/EL through dnf. Idempotent and quiet.
set -euo pipefail

need=(rpmbuild rpmspec rpm2cpio rpmkeys rpmsign gpgconf abipkgdiff abidiff installcheck createrepo_c git patch cpio bwrap gpg readelf gcc dnf)
missing=0
for tool in "${need[@]}"; do command -v "$tool" >/dev/null 2>&1 || missing=1; done
[ -e /usr/lib/python3/dist-packages/rpm/__init__.py ] || [ -e /usr/lib64/python3*/site-packages/rpm/__init__.py ] || missing=1
[ "$missing" = 0 ] && exit 0

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # with recommends: rpm's (debugedit, elfutils…) are what rpmbuild's debuginfo step needs
    $SUDO apt-get install -y -qq \
        rpm rpm2cpio python3-rpm abigail-tools libsolv-tools createrepo-c \
        git make patch cpio gzip bzip2 xz-utils zstd gnupg bubblewrap time \
        gcc libc6-dev binutils file ca-certificates dnf >/dev/null
elif command -v dnf >/dev/null 2>&1; then
    $SUDO dnf install -y -q rpm-build rpm-sign python3-rpm libabigail libsolv-tools \
        createrepo_c git make patch cpio gzip bzip2 xz zstd gnupg2 bubblewrap time gcc binutils file
else
    echo "install-system-deps: neither apt-get nor dnf found; install ${need[*]} by hand" >&2
    exit 1
fi
