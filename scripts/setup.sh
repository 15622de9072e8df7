#!/usr/bin/env bash
# Installs what nestprobe needs to build and test on a fresh Debian machine: libcpuid-dev (through
# pkg-config), and Python's jsonschema for validating reports against Reports/schema. Idempotent.
# --test adds the SVM test bed (scripts/testbed.sh): QEMU, busybox-static and cpio through apt-get,
# and Debian's kernel package, fetched with apt-get download into .bed/ (never installed); and promtool
# (Debian's prometheus package) for the OpenMetrics check; Debian's postgresql server for the history tests;
# Apache Otava's analysis module as the change-point oracle; openssh-server, ansible-core and
# kubernetes-validate for the fleet tests; debootstrap for the static binary's clean roots; umoci and crun
# for the container image's tests. --image installs umoci alone, for `make image`.
set -euo pipefail
cd "$(dirname "$0")/.."

bed=0
[ "${1:-}" = "--test" ] && bed=1
# --image: only what `make image` needs beyond the build (umoci).
image=0
[ "${1:-}" = "--image" ] && image=1
need=()
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
pkg-config --exists libcpuid 2>/dev/null || need+=(libcpuid-dev)
# GRDB compiles against SQLite's header; the static binary (scripts/dist.py) links libsqlite3.a and libcpuid.a.
[ -e /usr/lib/x86_64-linux-gnu/libsqlite3.a ] || need+=(libsqlite3-dev)
[ -e /usr/lib/x86_64-linux-gnu/libcpuid.a ] || need+=(libcpuid-dev)
if ((bed)); then
    command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
    # The bed's initramfs has no C library: its busybox must be the static one.
    { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || need+=(busybox-static)
    command -v cpio >/dev/null 2>&1 || need+=(cpio)
    # qemu-x86_64 (user-mode QEMU): the emulator test runs nestprobe under it, where CPUID is emulated.
    command -v qemu-x86_64 >/dev/null 2>&1 || need+=(qemu-user)
    # strace: the tests check that diagnose makes no process, and hold a write inside its window.
    command -v strace >/dev/null 2>&1 || need+=(strace)
    # promtool checks the OpenMetrics output of `nestprobe render` (Debian ships it in prometheus).
    command -v promtool >/dev/null 2>&1 || need+=(prometheus)
    # The history tests start a real PostgreSQL server on loopback (scripts/with-postgres.sh).
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
    # groff renders the generated man page in scripts/docs-tests.py (any warning fails the test).
    command -v groff >/dev/null 2>&1 || need+=(groff-base)
    # The Ansible tests' namespace hosts each run Debian's sshd (scripts/netns-hosts.sh).
    [ -x /usr/sbin/sshd ] || need+=(openssh-server)
    # The static binary's tests (scripts/dist-tests.py) build clean Debian 11 and 12 roots with debootstrap.
    command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
    # The container image's tests (scripts/image-tests.py) run it with crun.
    command -v crun >/dev/null 2>&1 || need+=(crun)
fi
# The container image (scripts/image.py) is built by umoci, with no daemon or registry.
if ((bed || image)); then
    command -v umoci >/dev/null 2>&1 || need+=(umoci)
fi
if ((${#need[@]})); then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "setup: installing ${need[*]} with apt-get" >&2
    $sudo apt-get update -qq
    # Without recommends: QEMU's would pull in a desktop (qemu-system-gui) the bed does not use.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || {
        echo "setup: apt-get could not install ${need[*]}; the build and the SVM test bed need them" >&2
        exit 1
    }
fi
if [ "${1:-}" = "--test" ]; then
    if ! python3 -c 'import jsonschema' 2>/dev/null; then
        echo "setup: installing jsonschema with pip" >&2
        python3 -m pip install -q jsonschema
    fi
    # The statistics oracles (scripts/check-oracles.py) recompute the tests' expected figures with SciPy.
    if ! python3 -c 'import numpy, scipy' 2>/dev/null; then
        echo "setup: installing numpy and scipy with pip" >&2
        python3 -m pip install -q numpy scipy
    fi
    # The change-point oracle (Tests/HistoryTests/Fixtures/changepoints/make_expected.py) is Apache Otava's
    # E-divisive; only its analysis module is used, on the numpy and scipy above, so its other
    # dependencies (BigQuery, Slack, Graphite clients) are left out.
    if ! python3 -c 'import otava.analysis' 2>/dev/null; then
        echo "setup: installing apache-otava (without its service clients) with pip" >&2
        python3 -m pip install -q --no-deps apache-otava==0.8.0
    fi
    # The fleet tests: the playbook in ansible/ (scripts/ansible-tests.py) and the offline validation of the
    # Kubernetes manifests in deploy/kubernetes/ against the schemas kubernetes-validate ships.
    if ! python3 -c 'import ansible, sys; sys.exit(ansible.__version__ != "2.19.14")' 2>/dev/null; then
        echo "setup: installing ansible-core with pip" >&2
        python3 -m pip install -q ansible-core==2.19.14
    fi
    if ! python3 -c 'import kubernetes_validate' 2>/dev/null; then
        echo "setup: installing kubernetes-validate with pip" >&2
        python3 -m pip install -q kubernetes-validate==1.37.0
    fi
    ./scripts/testbed.sh fetch
fi
