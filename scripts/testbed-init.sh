#!/bin/sh
# /init of the SVM test bed's initramfs (busybox sh; scripts/testbed.sh copies it in). It mounts the
# kernel's file systems, runs /bed/plan (one `step NAME` per command, the command on its standard
# input), and sends every file the step left in $OUT to the host over the second serial port
# (ttyS1), gzip'd and base64'd between markers, so kernel messages on ttyS0 cannot interleave:
#   === BEGIN NAME ===
#   H4sI...
#   === END NAME ===
# Each step leaves NAME.stdout, NAME.stderr, NAME.rc and NAME.seconds, plus whatever it wrote under
# $OUT itself. `=== DONE ===` ends a boot that ran every step; then the machine powers off.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export OUT=/out HOME=/root TERM=dumb LANG=C.UTF-8
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
# The kernel found no /dev/console in the initramfs (it is packed without device nodes, so without root).
exec </dev/console >/dev/console 2>&1
. /bed/env
mkdir -p "$OUT" /root
# Only errors on the console: module loads and the steps' own messages stay in their files.
echo 3 >/proc/sys/kernel/printk
data=/dev/ttyS1
stty -F "$data" raw -echo 2>/dev/null

send() {
    for f in "$OUT"/*; do
        [ -f "$f" ] || continue
        {
            echo "=== BEGIN ${f#"$OUT"/} ==="
            gzip -c "$f" | base64
            echo "=== END ${f#"$OUT"/} ==="
        } >"$data"
        rm -f "$f"
    done
}

uptime_cs() {
    read -r up _ </proc/uptime
    echo "${up%.*}${up#*.}"
}

# step NAME: runs the shell command on standard input with no input of its own.
step() {
    name=$1
    cmd=$(cat)
    echo "bed: step $name: $cmd" >/dev/console
    start=$(uptime_cs)
    sh -c "$cmd" </dev/null >"$OUT/$name.stdout" 2>"$OUT/$name.stderr"
    echo $? >"$OUT/$name.rc"
    end=$(uptime_cs)
    echo $(((end - start) / 100)).$(((end - start) % 100 / 10)) >"$OUT/$name.seconds"
    send
}

{
    echo "kernel $(uname -r)"
    echo "uptime $(cut -d' ' -f1 /proc/uptime) s at the first step"
    grep -m1 '^model name' /proc/cpuinfo
    grep -m1 '^flags' /proc/cpuinfo
} >"$OUT/bed.info"
send
. /bed/plan
echo "=== DONE ===" >"$data"
sync
poweroff -f
