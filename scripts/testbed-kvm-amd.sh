#!/bin/sh
# `kvm-amd` inside the SVM test bed (busybox sh): load, unload or reload kvm_amd and what it needs, in
# dependency order (irqbypass <- kvm; ccp; kvm, ccp <- kvm-amd), then list the parameters it took.
#   kvm-amd load [PARAM=VALUE...]     kvm-amd reload [PARAM=VALUE...]     kvm-amd unload
dir=/lib/modules/bed

loaded() { grep -q "^$1 " /proc/modules; }

parameters() {
    for p in /sys/module/kvm_amd/parameters/*; do
        [ -f "$p" ] && echo "kvm_amd.${p##*/}=$(cat "$p")"
    done
    ls -l /dev/kvm 2>&1
}

load_kvm_amd() {
    if ! insmod "$dir/kvm-amd.ko" "$@"; then
        # The kernel says why (no SVM, SVM disabled by the BIOS) in its log, not in insmod's status.
        dmesg | grep -iE 'kvm|svm' | tail -n 5 >&2
        return 1
    fi
    parameters
}

case $1 in
load)
    shift
    for m in irqbypass kvm ccp; do
        loaded "$m" || insmod "$dir/$m.ko" || exit 1
    done
    load_kvm_amd "$@"
    ;;
reload)
    shift
    if loaded kvm_amd; then rmmod kvm_amd || exit 1; fi
    load_kvm_amd "$@"
    ;;
unload)
    rmmod kvm_amd
    ;;
*)
    echo "usage: kvm-amd load|reload [PARAM=VALUE...] | unload" >&2
    exit 64
    ;;
esac
