#!/usr/bin/env bash
# Test hosts for the Ansible playbook (ansible/, README "Qualifying a fleet with Ansible"): N network
# namespaces on this machine, each with a veth pair on its own /30 of a private 10.215.S.0/24 and an sshd of
# its own listening on the namespace's address.
#
#   scripts/netns-hosts.sh start DIR [N]   N >= 3 hosts (default 4); writes DIR/inventory.ini
#   scripts/netns-hosts.sh stop DIR        ends every process in the namespaces and deletes them
#
# Everything lives under DIR (an empty folder the caller made, e.g. mktemp -d): a throwaway ed25519 host key
# and client key, known_hosts, each sshd's config, log and pidfile. Nothing is written to /etc or ~/.ssh.
# Each sshd runs in a mount namespace of its own, in which /run is a private tmpfs (sshd's privilege
# separation folder /run/sshd lives there) and /var/tmp is the host's own folder DIR/<host>/var-tmp, so the
# hosts do not share where the playbook puts the binary and its reports. /tmp stays shared, and so does the
# KVM lock /tmp/nestprobe-kvm.lock.
#
# The hosts, in the order of the inventory:
#   nshost1 … nshost(N-2)  good: /dev/kvm as on this machine
#   nshost(N-1)            no-kvm: its sshd, and so every command run over it, sees a /dev without kvm (a tmpfs
#                          with every other entry of this machine's /dev bound into it), as a VM would whose
#                          hypervisor does not offer virtualization
#   nshostN                down: the namespace and its address exist, but no sshd was started (connection
#                          refused), as a host whose service is down
# Needs root (ip netns, mount); the sshd is Debian's openssh-server (scripts/setup.sh --test installs it).
set -euo pipefail

usage() {
    echo "usage: $0 start DIR [N] | stop DIR" >&2
    exit 64
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$(cd "$2" && pwd) || {
    echo "netns-hosts: $2 is not a folder" >&2
    exit 66
}
sshd=/usr/sbin/sshd

stop() {
    [ -f "$dir/namespaces" ] || return 0
    local ns pid
    while read -r ns; do
        [ -n "$ns" ] || continue
        # Every process that runs in the namespace: the listening sshd, its sessions and what they run.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
            sleep 0.2
        done
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        # Deleting the namespace deletes its end of the veth pair, and with it this machine's end.
        ip netns delete "$ns" 2>/dev/null || true
    done <"$dir/namespaces"
    rm -f "$dir/namespaces"
}

# The commands the no-kvm host's sshd starts under: a private /dev without kvm, then the shared setup.
hide_kvm='
realdev=$1; shift
mount --rbind /dev "$realdev"
mount -t tmpfs -o mode=0755,size=64k nestprobe-dev /dev
for entry in "$realdev"/* "$realdev"/.[!.]*; do
    [ -e "$entry" ] || [ -L "$entry" ] || continue
    name=${entry##*/}
    [ "$name" = kvm ] && continue
    if [ -L "$entry" ]; then
        cp -P "$entry" "/dev/$name"
    elif [ -d "$entry" ]; then
        mkdir "/dev/$name" && mount --rbind "$entry" "/dev/$name"
    else
        : >"/dev/$name" && mount --bind "$entry" "/dev/$name"
    fi
done
umount -l "$realdev"
exec "$@"
'
# The commands every sshd starts under: a private /run with sshd's folder, the host's own /var/tmp.
host_mounts='
vartmp=$1; shift
mount -t tmpfs -o mode=0755,size=1m nestprobe-run /run
mkdir -m 0755 /run/sshd
mount --bind "$vartmp" /var/tmp
exec "$@"
'

start() {
    local n=$1
    if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -lt 3 ] || [ "$n" -gt 60 ]; then
        echo "netns-hosts: N must be a number from 3 to 60, not '$n'" >&2
        exit 64
    fi
    [ -x "$sshd" ] || {
        echo "netns-hosts: $sshd is missing: run scripts/setup.sh --test (Debian's openssh-server)" >&2
        exit 69
    }
    [ -e "$dir/namespaces" ] && {
        echo "netns-hosts: $dir already holds hosts: stop them first" >&2
        exit 64
    }
    trap 'stop' ERR
    ssh-keygen -q -t ed25519 -N '' -C nestprobe-test-host -f "$dir/host_key"
    ssh-keygen -q -t ed25519 -N '' -C nestprobe-test-client -f "$dir/client_key"
    : >"$dir/known_hosts"
    : >"$dir/namespaces"

    # A free /24: the first 10.215.S.0/24 with no address on this machine, chosen under a lock so that two
    # runs side by side (a developer's and CI's) take different ones.
    exec 9>/tmp/nestprobe-netns.lock
    flock 9
    local slot=""
    for s in $(seq 1 250); do
        if ! ip -4 -o addr show | grep -q " 10\.215\.$s\." && ! ip netns list | grep -q "^np$s-"; then
            slot=$s
            break
        fi
    done
    [ -n "$slot" ] || {
        echo "netns-hosts: no free 10.215.S.0/24 left" >&2
        exit 69
    }

    local inv="$dir/inventory.ini"
    {
        echo "# Written by scripts/netns-hosts.sh start: $n namespace hosts on 10.215.$slot.0/24."
        echo "[nestprobe_hosts]"
    } >"$inv"
    local i ns host addr peer kind
    for i in $(seq 1 "$n"); do
        ns="np$slot-$i"
        host="nshost$i"
        peer="10.215.$slot.$((4 * i - 3))"
        addr="10.215.$slot.$((4 * i - 2))"
        kind=good
        [ "$i" -eq $((n - 1)) ] && kind=no-kvm
        [ "$i" -eq "$n" ] && kind=down
        ip netns add "$ns"
        echo "$ns" >>"$dir/namespaces"
        ip link add "np${slot}h$i" type veth peer name eth0 netns "$ns"
        ip addr add "$peer/30" dev "np${slot}h$i"
        ip link set "np${slot}h$i" up
        ip -n "$ns" addr add "$addr/30" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$ns" link set lo up
        mkdir -p "$dir/$host/var-tmp"
        echo "$addr $(cut -d' ' -f1-2 "$dir/host_key.pub")" >>"$dir/known_hosts"
        cat >"$dir/$host/sshd_config" <<EOF
ListenAddress $addr
Port 22
HostKey $dir/host_key
PidFile $dir/$host/sshd.pid
AuthorizedKeysFile $dir/client_key.pub
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
PrintLastLog no
Subsystem sftp internal-sftp
EOF
        echo "$host ansible_host=$addr nestprobe_label=namespace-$kind" >>"$inv"
        if [ "$kind" = down ]; then
            continue
        fi
        local -a wrap=(ip netns exec "$ns" unshare --mount --propagation private
            sh -c "$host_mounts" sh "$dir/$host/var-tmp")
        if [ "$kind" = no-kvm ]; then
            mkdir -p "$dir/$host/realdev"
            wrap+=(sh -c "$hide_kvm" sh "$dir/$host/realdev")
        fi
        "${wrap[@]}" "$sshd" -t -f "$dir/$host/sshd_config"
        # In the background, holding neither the caller's output nor the lock.
        setsid "${wrap[@]}" "$sshd" -D -f "$dir/$host/sshd_config" -E "$dir/$host/sshd.log" \
            </dev/null >>"$dir/$host/sshd.log" 2>&1 9>&- &
    done
    flock -u 9

    # The connection settings every host shares: the throwaway key, this folder's known_hosts (checked
    # strictly), no ~/.ssh/config; the host's own /var/tmp for Ansible's temporary files.
    local ssh_args="-F none -o IdentitiesOnly=yes -o UserKnownHostsFile=$dir/known_hosts"
    ssh_args+=" -o StrictHostKeyChecking=yes -o ConnectTimeout=5"
    cat >>"$inv" <<EOF

[nestprobe_hosts:vars]
ansible_user=root
ansible_ssh_private_key_file=$dir/client_key
ansible_ssh_common_args='$ssh_args'
ansible_python_interpreter=/usr/bin/python3
ansible_remote_tmp=/var/tmp/.ansible-tmp
# One ssh round trip a task instead of copying each module first.
ansible_pipelining=true
EOF

    # Wait until each started sshd listens (at most 10 s).
    for i in $(seq 1 $((n - 2))) $((n - 1)); do
        addr="10.215.$slot.$((4 * i - 2))"
        for _ in $(seq 1 50); do
            ip netns exec "np$slot-$i" bash -c "exec 3<>/dev/tcp/$addr/22" 2>/dev/null && break
            sleep 0.2
        done
    done
    trap - ERR
    echo "netns-hosts: $n hosts on 10.215.$slot.0/24 (nshost$((n - 1)) without /dev/kvm, nshost$n down);" \
        "inventory $inv" >&2
}

case "$cmd" in
start) start "${3:-4}" ;;
stop) stop ;;
*) usage ;;
esac
