#!/usr/bin/env bash
# The SVM test bed: nestprobe inside a QEMU-emulated AMD host (software emulation, TCG) that runs
# Debian's own kernel with kvm_amd, so the probe and the bench meet hardware-style KVM (guests at CPL0,
# vmmcall, nesting as a module parameter) on a machine that has none. Functional checks only: every
# instruction in there is emulated, so its timings say nothing about real hardware.
#
#   scripts/testbed.sh fetch                 kernel and the four modules, once, into .bed/kernel
#   scripts/testbed.sh prepare [--bin PATH]  + busybox-static, nestprobe and its shared libraries,
#                                            packed into .bed/base.cpio
#   scripts/testbed.sh run [OPTIONS] [--] [NAME:]COMMAND...
#                                            boot once, run each shell COMMAND in turn inside, and bring
#                                            back its stdout, stderr, exit status and every file it wrote
#                                            under $OUT into the output folder
#   scripts/testbed.sh shell [OPTIONS]       boot with kvm_amd loaded and a shell on this terminal
#
# run/shell options:
#   --cpu MODEL        QEMU CPU model (default EPYC,+svm,+npt; EPYC,-svm for a host without SVM)
#   --kvm-amd PARAMS   parameters for kvm_amd, e.g. "nested=0" (default: the module's defaults)
#   --no-kvm           do not load the KVM modules before the first command
#   --out DIR          where the results go (default .bed/out/run)
#   --timeout S        hard limit for the whole boot, seconds (default 150)
#   --bin PATH         the nestprobe binary (default $NESTPROBE_BIN or .build/release/nestprobe)
#   -q                 do not print the commands' standard output
# Inside, `nestprobe` is on PATH and `kvm-amd load|reload|unload [PARAM=VALUE...]` manages kvm_amd.
# NESTPROBE_BED_KERNEL=linux-image-... fetches that kernel package instead (after rm -rf .bed/kernel).
# A run exits 0 when the guest ran every command (whatever their own statuses), 1 when it did not.
set -euo pipefail
here=$PWD
cd "$(dirname "$0")/.."
repo=$PWD
cache=$repo/.bed
kernel=$cache/kernel
modules=(irqbypass kvm ccp kvm-amd)
fetching=""
trap 'rm -rf "$fetching"' EXIT

die() {
    echo "testbed: $*" >&2
    exit 1
}

# Paths given on the command line are the caller's, relative to where it ran.
absolute() {
    case $1 in /*) echo "$1" ;; *) echo "$here/$1" ;; esac
}

# The package linux-image-amd64 depends on (the current kernel of this Debian release).
kernel_package() {
    if [ -n "${NESTPROBE_BED_KERNEL:-}" ]; then
        echo "$NESTPROBE_BED_KERNEL"
        return
    fi
    apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

fetch() {
    [ -f "$kernel/release" ] && return 0
    command -v apt-get >/dev/null || die "apt-get not found: the bed takes Debian's kernel (linux-image-amd64)"
    local pkg
    pkg=$(kernel_package)
    if [ -z "$pkg" ]; then
        echo "testbed: apt has no linux-image-amd64; running apt-get update" >&2
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        $sudo apt-get update -qq || true
        pkg=$(kernel_package)
    fi
    [ -n "$pkg" ] || die "cannot find the kernel package: apt-cache depends linux-image-amd64 names none (not Debian?)"
    local tmp
    tmp=$(mktemp -d "$cache/fetch.XXXXXX")
    fetching=$tmp
    echo "testbed: downloading $pkg with apt-get download" >&2
    (cd "$tmp" && apt-get download -q -o APT::Sandbox::User="$(id -un)" "$pkg" >/dev/null) ||
        die "apt-get download $pkg failed: the bed needs Debian's kernel package (network to the Debian mirror)"
    local deb
    deb=$(ls "$tmp"/*.deb)
    # Only the kernel and the four modules: the package unpacks to ~400 MB otherwise.
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards '*/boot/vmlinuz-*' \
        '*/kernel/arch/x86/kvm/kvm.ko*' '*/kernel/arch/x86/kvm/kvm-amd.ko*' \
        '*/kernel/virt/lib/irqbypass.ko*' '*/kernel/drivers/crypto/ccp/ccp.ko*' ||
        die "unpacking $deb failed"
    local staged=$tmp/kernel m file
    mkdir -p "$staged"
    cp "$tmp"/boot/vmlinuz-* "$staged/vmlinuz"
    for m in "${modules[@]}"; do
        file=$(find "$tmp" -name "$m.ko*" | head -n 1)
        [ -n "$file" ] || die "$pkg has no $m module"
        case $file in
        *.ko) cp "$file" "$staged/$m.ko" ;;
        *.ko.xz) xz -dc "$file" >"$staged/$m.ko" ;;
        *.ko.zst) zstd -qdc "$file" >"$staged/$m.ko" ;;
        *) die "$file: unknown module compression" ;;
        esac
    done
    basename "$(ls -d "$tmp"/*/boot/vmlinuz-* "$tmp"/boot/vmlinuz-* 2>/dev/null | head -n 1)" |
        sed 's/^vmlinuz-//' >"$staged/release"
    dpkg-deb -f "$deb" Package Version | paste -sd' ' | sed 's/^Package: //; s/ Version: / /' >"$staged/package"
    rm -rf "$kernel"
    mv "$staged" "$kernel"
    rm -rf "$tmp"
    fetching=""
    echo "testbed: kernel $(cat "$kernel/package") cached in .bed/kernel" >&2
}

# What identifies a prepared initramfs: the binary (path, size, time) and the bed's own scripts.
stamp() {
    local bin=$1
    stat -c '%n %s %Y' "$bin" scripts/testbed-init.sh scripts/testbed-kvm-amd.sh "$kernel/release" /bin/busybox
}

prepare() {
    local bin=$1
    [ -x "$bin" ] || die "no nestprobe binary at $bin: build it first (swift build -c release)"
    command -v cpio >/dev/null || die "cpio not found: run scripts/setup.sh --test (apt-get install cpio)"
    [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ||
        die "/bin/busybox is missing or not static: run scripts/setup.sh --test (apt-get install busybox-static)"
    mkdir -p "$cache"
    fetch
    if [ -f "$cache/base.cpio" ] && [ "$(cat "$cache/base.stamp" 2>/dev/null)" = "$(stamp "$bin")" ]; then
        return 0
    fi
    local root=$cache/root
    rm -rf "$root"
    mkdir -p "$root"/{bin,dev,proc,sys,tmp,out,root,etc,bed,lib/modules/bed}
    cp scripts/testbed-init.sh "$root/init"
    cp scripts/testbed-kvm-amd.sh "$root/bin/kvm-amd"
    chmod 755 "$root/init" "$root/bin/kvm-amd"
    cp /bin/busybox "$root/bin/busybox"
    local applet
    for applet in $(/bin/busybox --list); do
        [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
    done
    cp "$kernel"/*.ko "$root/lib/modules/bed/"
    cp "$bin" "$root/bin/nestprobe"
    # Its shared libraries (and the dynamic loader) at the same paths; the bed has no ld.so.cache, so
    # their folders go into LD_LIBRARY_PATH.
    local lib dirs=""
    for lib in $(ldd "$bin" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
        case ":$dirs:" in *":$(dirname "$lib"):"*) ;; *) dirs=${dirs:+$dirs:}$(dirname "$lib") ;; esac
    done
    echo "export LD_LIBRARY_PATH=$dirs" >"$root/bed/env"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\nkvm:x:108:\n' >"$root/etc/group"
    (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$cache/base.cpio.tmp"
    mv "$cache/base.cpio.tmp" "$cache/base.cpio"
    stamp "$bin" >"$cache/base.stamp"
    rm -rf "$root"
    echo "testbed: initramfs $(du -m "$cache/base.cpio" | cut -f1) MB with $bin, kernel $(cat "$kernel/release")" >&2
}

# Turns the data port's log into files: between "=== BEGIN NAME ===" and "=== END NAME ===" a gzip
# stream in base64. Prints DONE when the guest ran every command.
unpack() {
    local log=$1 out=$2
    tr -d '\r' <"$log" | awk -v out="$out" '
        /^=== BEGIN .* ===$/ { name = $3; file = out "/" name ".b64"; printf "" > file; next }
        /^=== END .* ===$/ { close(file); file = ""; next }
        /^=== DONE ===$/ { print "DONE"; next }
        file != "" { print >> file }'
    local b64
    for b64 in "$out"/*.b64; do
        [ -f "$b64" ] || continue
        base64 -d "$b64" | gunzip -c >"${b64%.b64}" || echo "testbed: ${b64##*/}: garbled" >&2
        rm -f "$b64"
    done
}

boot() {
    local mode=$1
    shift
    local cpu="EPYC,+svm,+npt" params="" load=1 out="$cache/out/run" timeout=150 quiet=0
    local bin=${NESTPROBE_BIN:-$repo/.build/release/nestprobe}
    [ "$mode" = shell ] && timeout=3600
    while (($#)); do
        case $1 in
        --cpu) cpu=$2; shift 2 ;;
        --kvm-amd) params=$2; shift 2 ;;
        --no-kvm) load=0; shift ;;
        --out) out=$(absolute "$2"); shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --bin) bin=$(absolute "$2"); shift 2 ;;
        -q) quiet=1; shift ;;
        --) shift; break ;;
        -*) die "unknown option $1" ;;
        *) break ;;
        esac
    done
    command -v qemu-system-x86_64 >/dev/null ||
        die "qemu-system-x86_64 not found: run scripts/setup.sh --test (apt-get install qemu-system-x86)"
    [ -f "$cache/base.cpio" ] && [ "$(cat "$cache/base.stamp" 2>/dev/null)" = "$(stamp "$bin")" ] || prepare "$bin"
    # The folder is emptied first, so it must be one the bed made (bed.run) or an empty or new one.
    if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && [ ! -f "$out/bed.run" ]; then
        die "$out is not empty and not a folder the bed wrote: name another with --out"
    fi
    rm -rf "$out"
    mkdir -p "$out/plan/bed"
    echo "cpu=$cpu kvm_amd=${params:-defaults} running" >"$out/bed.run"
    local plan=$out/plan/bed/plan n=0 cmd name names=()
    {
        if ((load)); then
            names+=(kvm-load)
            printf 'step kvm-load <<'\''__BED__'\''\nkvm-amd load %s\n__BED__\n' "$params"
        fi
        for cmd in "$@"; do
            n=$((n + 1))
            name=$(printf 'step%02d' "$n")
            if [[ $cmd =~ ^([A-Za-z0-9_.-]+):[[:space:]]*(.*)$ ]]; then
                name=${BASH_REMATCH[1]}
                cmd=${BASH_REMATCH[2]}
            fi
            names+=("$name")
            printf 'step %s <<'\''__BED__'\''\n%s\n__BED__\n' "$name" "$cmd"
        done
        if [ "$mode" = shell ]; then
            echo 'echo "bed: kvm_amd loaded; nestprobe on PATH; exit or poweroff -f to leave"'
            echo 'setsid cttyhack sh </dev/console >/dev/console 2>&1'
        fi
    } >"$plan"
    (cd "$out/plan" && find . | cpio -o -H newc -R 0:0 --quiet) >"$out/plan.cpio"
    cat "$cache/base.cpio" "$out/plan.cpio" >"$out/initrd.cpio"
    rm -rf "$out/plan" "$out/plan.cpio"

    local console=(-serial "file:$out/console.log")
    [ "$mode" = shell ] && console=(-serial mon:stdio)
    local started=$SECONDS status=0
    timeout -k 5 "$timeout" qemu-system-x86_64 -accel tcg -cpu "$cpu" -m 1G -smp 1 \
        -nodefaults -no-reboot -display none -monitor none \
        "${console[@]}" -serial "file:$out/data.log" \
        -kernel "$kernel/vmlinuz" -initrd "$out/initrd.cpio" \
        -append "console=ttyS0 quiet panic=-1" 2>"$out/qemu.log" || status=$?
    rm -f "$out/initrd.cpio"
    local done
    done=$(unpack "$out/data.log" "$out")
    echo "cpu=$cpu kvm_amd=${params:-defaults} boot_seconds=$((SECONDS - started)) qemu_status=$status" >"$out/bed.run"
    for name in "${names[@]}"; do
        [ -f "$out/$name.rc" ] || continue
        echo "testbed: [$cpu] $name: exit $(cat "$out/$name.rc") in $(cat "$out/$name.seconds" 2>/dev/null || echo '?') s" >&2
        ((quiet)) || [ "$mode" = shell ] || cat "$out/$name.stdout"
    done
    # QEMU warns about the EPYC features TCG lacks (rdseed, sha-ni, ...); anything else is worth showing.
    grep -v "TCG doesn't support requested feature" "$out/qemu.log" >&2 || true
    if [ "$status" = 124 ] || [ "$status" = 137 ]; then
        tail -n 20 "$out/console.log" >&2 2>/dev/null || true
        die "[$cpu] QEMU did not finish in $timeout s (console: $out/console.log)"
    fi
    if [ "$done" != DONE ] && [ "$mode" != shell ]; then
        tail -n 20 "$out/console.log" >&2 2>/dev/null || true
        die "[$cpu] the guest stopped before its last command (QEMU exit $status; console: $out/console.log)"
    fi
    echo "testbed: [$cpu] booted and ran ${n} command(s) in $((SECONDS - started)) s; results in ${out#"$repo"/}" >&2
}

case ${1:-} in
fetch)
    mkdir -p "$cache"
    fetch
    ;;
prepare)
    shift
    bin=${NESTPROBE_BIN:-$repo/.build/release/nestprobe}
    [ "${1:-}" = --bin ] && bin=$(absolute "$2")
    prepare "$bin"
    ;;
run | shell)
    mode=$1
    shift
    boot "$mode" "$@"
    ;;
*)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 64
    ;;
esac
