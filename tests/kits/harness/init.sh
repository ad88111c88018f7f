#!/bin/bash
# Boot a throw-away systemd as PID 1 of private namespaces (see shared/notes/real-systemd-in-tests.md).
#
#   init.sh launch   run on the host by harness.Harness.boot(): joins the harness cgroup, then unshares
#   init.sh init     PID 1 of the new namespaces for a moment: builds a private world, then execs systemd
#
# Everything comes in through HARNESS_* variables; `env -i` keeps them away from systemd.
#   HARNESS_NAME      unique name: hostname, cgroup and $container
#   HARNESS_CGROUP    the host cgroup v2 dir made for this harness
#   HARNESS_WORKDIR   real-disk dir for the overlay upper dirs (they survive a SIGKILL: power-cut tests)
#   HARNESS_OVERLAYS  newline-separated dirs that get a copy-on-write overlay
#   HARNESS_BINDS     newline-separated "inside<TAB>host" bind mounts
set -euo pipefail
shopt -s nullglob

launch() {
    # Join the cgroup before unshare: the new cgroup namespace is rooted where the caller stands.
    echo $$ >"$HARNESS_CGROUP/cgroup.procs"
    exec setsid unshare --pid --fork --mount --mount-proc --uts --ipc --cgroup --net \
        --propagation private /bin/bash "$0" init
}

private_kernel_filesystems() {
    # /run first: util-linux mount writes /run/mount/utab, so an earlier mount would touch the host's /run.
    mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
    # /proc/sys is global except net, which is per network namespace.
    mount --bind /proc/sys /proc/sys
    mount -o remount,bind,ro /proc/sys
    mount --bind /proc/sys/net /proc/sys/net
    mount -o remount,bind,rw /proc/sys/net
    # A fresh sysfs shows our network namespace; cgroup2 on it makes systemd run fully unified,
    # rooted at the harness cgroup (our cgroup namespace).
    mount -t sysfs -o ro,nosuid,nodev,noexec sysfs /sys
    mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
}

private_dev() {
    # Without a private /dev, journald's /dev/log symlink would land in the host's devtmpfs.
    mount -t tmpfs -o mode=0755,nosuid,size=4m tmpfs /dev
    mknod -m 0666 /dev/null c 1 3
    mknod -m 0666 /dev/zero c 1 5
    mknod -m 0666 /dev/full c 1 7
    mknod -m 0666 /dev/random c 1 8
    mknod -m 0666 /dev/urandom c 1 9
    mknod -m 0666 /dev/tty c 5 0
    mkdir -m 0755 /dev/pts /dev/mqueue
    mkdir -m 1777 /dev/shm
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts /dev/pts
    ln -s pts/ptmx /dev/ptmx
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
    mount -t mqueue -o nosuid,nodev,noexec mqueue /dev/mqueue
    ln -s /proc/self/fd /dev/fd
    ln -s /proc/self/fd/0 /dev/stdin
    ln -s /proc/self/fd/1 /dev/stdout
    ln -s /proc/self/fd/2 /dev/stderr
}

overlay_key() {
    local key=${1#/}
    echo "${key//\//_}"
}

copy_on_write_overlays() {
    local dir key
    while IFS= read -r dir; do
        [[ -n "$dir" ]] || continue
        key=$(overlay_key "$dir")
        mkdir -p "$HARNESS_WORKDIR/overlay/$key/upper" "$HARNESS_WORKDIR/overlay/$key/work"
        mount -t overlay overlay \
            -o "lowerdir=$dir,upperdir=$HARNESS_WORKDIR/overlay/$key/upper,workdir=$HARNESS_WORKDIR/overlay/$key/work" \
            "$dir"
    done <<<"$HARNESS_OVERLAYS"
    # Only the test's units: Debian's enablement symlinks in the host's /etc would start half the OS.
    mount -t tmpfs -o mode=0755 tmpfs /etc/systemd/system
    # No state from the host's systemd (timer stamps, dynamic users, ...).
    mkdir -p /var/lib/systemd
    mount -t tmpfs -o mode=0755 tmpfs /var/lib/systemd
}

bind_mounts() {
    # After the tmpfs above, so a test may keep /etc/systemd/system on disk across a power cut.
    local inside host
    while IFS=$'\t' read -r inside host; do
        [[ -n "$inside" ]] || continue
        mkdir -p "$inside"
        mount --bind "$host" "$inside"
    done <<<"$HARNESS_BINDS"
}

mask_host_boot_units() {
    local keep="systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket dbus.service dbus.socket"
    local link unit masks=/run/harness/masks.conf
    mkdir -p /run/systemd/system /run/harness
    # Each mask is a line for systemd-tmpfiles, which makes all the links in one process (a boot masks ~110
    # units: one `ln` each cost more CPU than the rest of the boot).
    : >"$masks"
    # Whatever Debian hooks into the boot targets is not part of a test's world.
    for link in /usr/lib/systemd/system/*.wants/* /lib/systemd/system/*.wants/*; do
        unit=${link##*/}
        [[ " $keep " == *" $unit "* ]] && continue
        printf 'L+ /run/systemd/system/%s - - - - /dev/null\n' "$unit" >>"$masks"
    done
    for unit in systemd-logind.service systemd-udevd.service systemd-udevd-control.socket \
        systemd-udevd-kernel.socket systemd-udev-trigger.service systemd-tmpfiles-setup.service \
        systemd-tmpfiles-setup-dev.service systemd-tmpfiles-clean.timer systemd-timesyncd.service \
        systemd-networkd.service systemd-networkd.socket systemd-resolved.service getty@.service \
        console-getty.service systemd-journal-flush.service systemd-journald-audit.socket \
        systemd-update-utmp.service systemd-update-utmp-runlevel.service systemd-remount-fs.service \
        systemd-firstboot.service systemd-machine-id-commit.service; do
        printf 'L+ /run/systemd/system/%s - - - - /dev/null\n' "$unit" >>"$masks"
    done
    systemd-tmpfiles --create "$masks"
}

systemd_config() {
    mkdir -p /run/systemd/journald.conf.d /run/harness/no-generators
    printf '[Journal]\nStorage=volatile\n' >/run/systemd/journald.conf.d/harness.conf
    # multi-user.target and timers.target so that units a test enabled (with /etc/systemd/system kept on
    # disk) start at the next boot, as on a device; everything Debian put into them is masked above.
    cat >/run/systemd/system/harness.target <<'EOF'
[Unit]
Description=Test harness default target
Requires=basic.target dbus.socket
Wants=systemd-journald.service dbus.service multi-user.target timers.target
After=basic.target dbus.socket dbus.service multi-user.target timers.target
AllowIsolate=yes
EOF
}

init() {
    private_kernel_filesystems
    private_dev
    copy_on_write_overlays
    bind_mounts
    # systemd sets the hostname from /etc/hostname: give each harness its own name without touching /etc.
    mkdir -p /run/harness
    echo "$HARNESS_NAME" >/run/harness/hostname
    mount --bind /run/harness/hostname /etc/hostname
    hostname "$HARNESS_NAME"
    ip link set lo up
    mask_host_boot_units
    systemd_config
    # Last: the workdir and the host dirs to bind may live under the host's /tmp.
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
    # As on a booted device, mounts are shared inside this world: systemd sets up credentials
    # (LoadCredential=) in a child mount namespace and relies on propagation to bring them back. The peer
    # groups are new and local: the host's mounts were made private by unshare above, so nothing leaks.
    mount --make-rshared /
    cd /
    # container= makes systemd-shutdown skip remounting / read-only at poweroff.
    exec env -i container="harness" LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        SYSTEMD_GENERATOR_PATH=/run/harness/no-generators \
        SYSTEMD_ENVIRONMENT_GENERATOR_PATH=/run/harness/no-generators \
        /lib/systemd/systemd --system --unit=harness.target --show-status=no
}

case "${1:-}" in
launch) launch ;;
init) init ;;
*)
    echo "usage: $0 launch|init" >&2
    exit 2
    ;;
esac
