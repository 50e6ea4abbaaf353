#!/usr/bin/env bash
# Prepare a Debian host (run as root) for the end-to-end tests in tests/e2e.
#
# Installs libvirt, QEMU and Prometheus, creates the libvirt-qemu user and
# group libvirtd expects, and makes QEMU run as root (/dev/kvm is root-only
# on CI machines).  Idempotent.  It does not start any daemon: the tests do.
set -euo pipefail

PACKAGES=(
    libvirt-daemon
    libvirt-daemon-driver-qemu
    libvirt-clients
    qemu-system-x86
    libvirt-dev
    pkg-config
    prometheus
    prometheus-libvirt-exporter
    prometheus-node-exporter
    snmpd
    snmp
    snmptrapd
    smitools
    systemd
    runc
)
QEMU_CONF=${E2E_QEMU_CONF:-/etc/libvirt/qemu.conf}

log() { printf 'e2e-host-setup: %s\n' "$*"; }

if [[ $(id -u) -ne 0 ]]; then
    log "must run as root" >&2
    exit 1
fi

install_packages() {
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} == 0)); then
        log "packages already installed"
        return
    fi
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
}

ensure_qemu_account() {
    if ! getent group libvirt-qemu >/dev/null; then
        log "creating group libvirt-qemu"
        groupadd --system libvirt-qemu
    fi
    if ! getent passwd libvirt-qemu >/dev/null; then
        log "creating user libvirt-qemu"
        useradd --system --gid libvirt-qemu --home-dir /var/lib/libvirt \
            --no-create-home --shell /usr/sbin/nologin libvirt-qemu
    fi
}

# set_conf KEY VALUE: make exactly one active 'KEY = "VALUE"' line in QEMU_CONF,
# leaving every other line (and commented examples) untouched.
set_conf() {
    local key=$1 value=$2 line
    line="$key = \"$value\""
    if grep -Eq "^[[:space:]]*${key}[[:space:]]*=" "$QEMU_CONF"; then
        if [[ $(grep -Ec "^[[:space:]]*${key}[[:space:]]*=" "$QEMU_CONF") -eq 1 ]] &&
            grep -Fxq "$line" "$QEMU_CONF"; then
            return
        fi
        sed -i -E "/^[[:space:]]*${key}[[:space:]]*=/d" "$QEMU_CONF"
    fi
    log "setting $line in $QEMU_CONF"
    printf '%s\n' "$line" >>"$QEMU_CONF"
}

configure_qemu() {
    # A minimal image may lack these; libvirtd and virtlogd exit without them.
    install -d -m 0755 "$(dirname "$QEMU_CONF")" /var/log/libvirt
    if [[ ! -e $QEMU_CONF ]]; then
        log "creating $QEMU_CONF"
        printf '# Written by tools/e2e-host-setup.sh\n' >"$QEMU_CONF"
    fi
    set_conf user root
    set_conf group root
}

# kubectl renders the Kubernetes overlays (tests/functional/test_kubernetes.py):
# Debian's kubernetes-client unless some kubectl (it conflicts with Google's
# kubectl package) is installed already.
install_kubectl() {
    if command -v kubectl >/dev/null; then
        return
    fi
    log "installing kubernetes-client (kubectl)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends kubernetes-client
}

install_packages
install_kubectl
ensure_qemu_account
configure_qemu
log "done"
