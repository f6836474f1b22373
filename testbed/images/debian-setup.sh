#!/bin/sh
# Runs inside a freshly debootstrapped root (chroot) and makes it a container image that
# boots systemd as PID 1 without --privileged. Called by testbed/build-images.sh with:
#   debian-setup.sh <suite> <mirror-url> <security-mirror-url> <arch>
# Part of the image recipe: changing this file rebuilds the images.
set -eu
suite=$1 mirror=$2 security=$3 arch=$4

# apt sources of the image: the same mirror the test bed was built from.
rm -f /etc/apt/sources.list
cat >/etc/apt/sources.list.d/debian.sources <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
# Installs in tests stay small and never ask questions.
cat >/etc/apt/apt.conf.d/90testbed <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
APT

# Units masked in the image. Booting both images with nothing masked (capabilities and
# mounts as in molecule/_shared/create.yml) gave `running` with no failed unit, so this is
# not about failures: nobody logs in on a console (getty), udev cannot work on a read-only
# /sys if a role pulls it in, and the maintenance timers take the dpkg lock or scan disks
# in the middle of a test run.
for unit in \
  getty.target console-getty.service getty@tty1.service \
  systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
  systemd-udev-trigger.service systemd-udev-settle.service \
  apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
  e2scrub_all.timer e2scrub_reap.service fstrim.timer
do
  ln -sf /dev/null "/etc/systemd/system/$unit"
done
systemctl set-default multi-user.target >/dev/null

# sshd only where a scenario reaches its nodes over SSH (molecule/fleet's prepare starts
# it); elsewhere it would be one more listener in every container. The host keys made at
# install are removed: each container that starts sshd makes its own (ssh-keygen -A).
systemctl disable ssh.service >/dev/null 2>&1 || true
rm -f /etc/ssh/ssh_host_*

# Foreign architectures run through qemu-user on the amd64 test bed. There, systemd 252
# cannot set up service credentials ("Failed to set up credentials: Invalid argument",
# step CREDENTIALS), which failed systemd-tmpfiles-setup(-dev) and systemd-sysusers at
# boot. Nothing here passes credentials, so clear LoadCredential= in those units.
if [ "$arch" != amd64 ]; then
  grep -l '^LoadCredential=' /lib/systemd/system/*.service | while read -r unit; do
    mkdir -p "/etc/systemd/system/${unit##*/}.d"
    printf '[Service]\nLoadCredential=\n' >"/etc/systemd/system/${unit##*/}.d/testbed-qemu-user.conf"
  done
fi

# Every container gets its own machine id at boot (an empty file makes systemd create a
# transient one); no fixed host name.
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id /etc/hostname
ln -s /etc/machine-id /var/lib/dbus/machine-id

# Smaller image: package caches and indexes are refetched by `apt-get update` anyway.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /var/log/apt/* /tmp/* /var/tmp/*
