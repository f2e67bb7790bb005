#!/bin/bash
# A private Docker engine for tools/compose_check.sh on a machine that runs none (and has no
# registry): dockerd (Debian's docker.io) inside a network namespace of its own, so that the
# containers' bridges, iptables rules and published ports live there and not on the host.
#
#   tools/docker_sandbox.sh start     creates the namespace NAME and a veth pair (host side
#                                     NET.1/24, namespace side NET.2/24, default route via
#                                     NET.1), starts apt-cacher-ng on NET.1:3142 (the image
#                                     builds' apt proxy), starts dockerd in the namespace on
#                                     unix:///run/NAME.sock and, when the engine lacks it,
#                                     makes the base image debian:bookworm-slim by debootstrap
#                                     (minbase, through the proxy; the rootfs tarball is kept
#                                     in /var/cache/td3dock for the next start or engine)
#   tools/docker_sandbox.sh env       prints the lines to eval: DOCKER_HOST and
#                                     TD3DOCK_APT_PROXY (pass it as http_proxy to a build)
#   tools/docker_sandbox.sh run CMD   runs CMD with DOCKER_HOST and http_proxy set, e.g.
#                                     tools/docker_sandbox.sh run tools/compose_check.sh --curve
#   tools/docker_sandbox.sh nsexec CMD  runs CMD in the engine's network namespace (published
#                                     ports are on its 127.0.0.1 and NET.2, not the host's)
#   tools/docker_sandbox.sh status    says what runs (exit 0 when the engine answers)
#   tools/docker_sandbox.sh stop [--purge]  stops dockerd (its containers with it) and the
#                                     proxy, removes the namespace and veth; --purge also
#                                     deletes the engine's images and the proxy's cache
#   tools/docker_sandbox.sh engine-stop  stops dockerd only (an engine failure; `start`
#                                     brings it back with its state: images, swarm membership)
#   tools/docker_sandbox.sh link OTHER  joins this namespace to the namespace OTHER (another
#                                     engine's TD3DOCK_NAME) by a veth pair of their own:
#                                     LINK.1/24 here, LINK.2/24 in OTHER (what a Swarm of the
#                                     two engines talks over; the host does not route between
#                                     the namespaces); removed with either namespace
#
# Settings (environment): TD3DOCK_NAME (td3dock) names the namespace, socket and state
# paths; TD3DOCK_NET (10.200.0) is the /24 of the veth pair. A second engine (for a Swarm
# check) is another name and net: TD3DOCK_NAME=td3dock2 TD3DOCK_NET=10.200.1 ... start.
# TD3DOCK_LINK_NET (10.202.0) is the /24 of `link`. TD3DOCK_BUILDS=0 starts an engine that
# only runs images loaded into it (docker load): no apt proxy, no base image.
# TD3DOCK_MIRROR (http://deb.debian.org/debian) is the archive debootstrap and the proxy use.
# The base image's apt sources are debootstrap's (bookworm main, without the -updates and
# -security suites of Docker Hub's debian:bookworm-slim).
# Needs root, iproute2 (ip, nsenter), and Debian's docker.io, apt-cacher-ng and debootstrap:
#   DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io docker-compose apt-cacher-ng debootstrap
# dockerd runs under `nsenter --net` only (not `ip netns exec`, whose private /sys and mount
# namespace break dockerd's mounts). Logs: /var/log/NAME/{dockerd,apt-cacher-ng}.log.
# usage: tools/docker_sandbox.sh start|env|run CMD...|nsexec CMD...|status|stop [--purge]|
#                                engine-stop|link OTHER
set -u
name=${TD3DOCK_NAME:-td3dock}
net=${TD3DOCK_NET:-10.200.0}
mirror=${TD3DOCK_MIRROR:-http://deb.debian.org/debian}
link_net=${TD3DOCK_LINK_NET:-10.202.0}
builds=${TD3DOCK_BUILDS:-1}
base_tag=debian:bookworm-slim
host_ip=$net.1 ns_ip=$net.2
veth_host=${name:0:12}-h veth_ns=${name:0:12}-n
sock=/run/$name.sock
data_root=/var/lib/$name exec_root=/run/$name-exec pidfile=/run/$name.pid
logdir=/var/log/$name
acng_pidfile=/run/$name-acng.pid acng_cache=/var/cache/$name-acng
proxy=http://$host_ip:3142
rootfs_tar=/var/cache/td3dock/bookworm-minbase.tar
export DOCKER_HOST=unix://$sock

say() { echo "docker_sandbox: $*"; }
die() { echo "docker_sandbox: $*" >&2; exit 1; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
engine_up() { docker version >/dev/null 2>&1; }
# a TCP port answers (bash's /dev/tcp, no other tool needed)
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

need_tools() {
  [ "$(id -u)" = 0 ] || die "needs root"
  local t missing=""
  for t in ip nsenter dockerd docker apt-cacher-ng debootstrap tar; do
    command -v "$t" >/dev/null || missing="$missing $t"
  done
  [ -z "$missing" ] || die "missing:$missing (apt-get install -y docker.io docker-compose apt-cacher-ng debootstrap iproute2)"
}

start_net() {
  if [ ! -e "/run/netns/$name" ]; then
    # the host side must not collide with a route the host already has
    ip route show | grep -q "^$net\.0/24 " && die "the host already routes $net.0/24: set TD3DOCK_NET"
    ip netns add "$name" || die "cannot create the network namespace $name"
    say "network namespace $name created"
  fi
  ip -n "$name" link set lo up
  if ! ip link show "$veth_host" >/dev/null 2>&1; then
    ip link add "$veth_host" type veth peer name "$veth_ns" netns "$name" ||
      die "cannot create the veth pair $veth_host/$veth_ns"
    ip addr add "$host_ip/24" dev "$veth_host"
    ip link set "$veth_host" up
    ip -n "$name" addr add "$ns_ip/24" dev "$veth_ns"
    ip -n "$name" link set "$veth_ns" up
    ip -n "$name" route add default via "$host_ip"
    say "veth $veth_host $host_ip/24 (host) <-> $veth_ns $ns_ip/24 ($name)"
  fi
}

start_proxy() {
  if alive "$acng_pidfile"; then return 0; fi
  mkdir -p "$acng_cache" "$logdir"
  # Debian's configuration, with our own address, cache, log and socket; the Debian archive
  # fetched from $mirror itself (Debian's default picks from its list of mirrors, which need
  # not resolve here); setsid: out of the caller's process group
  setsid apt-cacher-ng -c /etc/apt-cacher-ng ForeGround=1 "BindAddress=$host_ip" Port=3142 \
    "CacheDir=$acng_cache" "LogDir=$logdir" "SocketPath=/run/$name-acng.socket" \
    "Remap-debrep=file:deb_mirror*.gz /debian ; $mirror/" \
    </dev/null >>"$logdir/apt-cacher-ng.log" 2>&1 &
  echo $! >"$acng_pidfile"
  local _
  for _ in $(seq 1 50); do port_open "$host_ip" 3142 && break; sleep 0.2; done
  port_open "$host_ip" 3142 || die "apt-cacher-ng does not answer on $host_ip:3142 ($logdir/apt-cacher-ng.log)"
  say "apt proxy $proxy (apt-cacher-ng, pid $(cat "$acng_pidfile"), cache $acng_cache)"
}

start_dockerd() {
  if alive "$pidfile" && engine_up; then return 0; fi
  alive "$pidfile" && die "dockerd $(cat "$pidfile") runs but does not answer on $sock"
  mkdir -p "$data_root" "$exec_root" "$logdir"
  # an empty configuration file: /etc/docker/daemon.json (if any) is the host engine's
  echo '{}' >"/run/$name-daemon.json"
  # Docker's default address pools, which exist only inside the namespace
  nsenter --net="/run/netns/$name" setsid dockerd --host "unix://$sock" \
    --data-root "$data_root" --exec-root "$exec_root" --pidfile "$pidfile" \
    --config-file "/run/$name-daemon.json" --cgroup-parent "/$name" \
    </dev/null >>"$logdir/dockerd.log" 2>&1 &
  local pid=$! _
  for _ in $(seq 1 120); do
    engine_up && break
    kill -0 "$pid" 2>/dev/null || die "dockerd exited: $(tail -5 "$logdir/dockerd.log")"
    sleep 0.5
  done
  engine_up || die "dockerd does not answer on $sock after 60 s ($logdir/dockerd.log)"
  say "dockerd $(docker version -f '{{.Server.Version}}') (pid $(cat "$pidfile")) in namespace $name on $sock"
}

base_image() {
  if docker image inspect "$base_tag" >/dev/null 2>&1; then return 0; fi
  if [ ! -s "$rootfs_tar" ]; then
    local dir t
    t=$(date +%s)
    mkdir -p "$(dirname "$rootfs_tar")"
    dir=$(mktemp -d /var/cache/td3dock/rootfs.XXXXXX)
    say "debootstrap --variant=minbase bookworm through $proxy (a few minutes)"
    http_proxy=$proxy debootstrap --variant=minbase bookworm "$dir" "$mirror" \
      >>"$logdir/debootstrap.log" 2>&1 || { rm -rf "$dir"; die "debootstrap failed ($logdir/debootstrap.log)"; }
    # what debian:*-slim leaves out: downloaded packages and lists
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    tar -C "$dir" --numeric-owner -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$dir"
    say "rootfs $rootfs_tar ($(du -h "$rootfs_tar" | cut -f1), $(($(date +%s) - t)) s)"
  fi
  docker import -c 'CMD ["bash"]' "$rootfs_tar" "$base_tag" >/dev/null || die "docker import failed"
  say "base image $base_tag imported from $rootfs_tar"
}

stop_dockerd() {
  local pid _
  if alive "$pidfile"; then
    pid=$(cat "$pidfile")
    # dockerd stops its containers (their stop timeout) and its containerd, then exits
    kill -TERM "$pid"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { say "dockerd $pid still runs after 60 s: KILL"; kill -KILL "$pid"; }
    say "dockerd $pid stopped"
  fi
  rm -f "$pidfile"
}

# a veth pair between this namespace and namespace $1 (both must exist)
link_to() {
  local other=$1 here=${name:0:10}-l other_end=${1:0:10}-l
  [ -e "/run/netns/$name" ] || die "no network namespace $name: $0 start"
  [ -e "/run/netns/$other" ] || die "no network namespace $other (start that engine first)"
  if ip -n "$name" link show "$here" >/dev/null 2>&1; then return 0; fi
  # created in this namespace, one end moved to the other: no name on the host's side
  ip -n "$name" link add "$here" type veth peer name "$other_end" netns "$other" ||
    die "cannot create the veth pair $here/$other_end between $name and $other"
  ip -n "$name" addr add "$link_net.1/24" dev "$here"
  ip -n "$other" addr add "$link_net.2/24" dev "$other_end"
  ip -n "$name" link set "$here" up
  ip -n "$other" link set "$other_end" up
  say "veth $here $link_net.1/24 ($name) <-> $other_end $link_net.2/24 ($other)"
}

stop_all() {
  local pid _
  stop_dockerd
  if alive "$acng_pidfile"; then
    pid=$(cat "$acng_pidfile")
    kill -TERM "$pid"
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    say "apt-cacher-ng $pid stopped"
  fi
  rm -f "$acng_pidfile"
  ip link show "$veth_host" >/dev/null 2>&1 && ip link del "$veth_host"
  if [ -e "/run/netns/$name" ]; then ip netns del "$name" && say "network namespace $name removed"; fi
  # mounts dockerd may leave behind after a KILL
  grep -oE " ($exec_root|$data_root)[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  if [ "${1:-}" = --purge ]; then
    rm -rf "$data_root" "$exec_root" "$acng_cache" "/run/$name-daemon.json"
    say "removed $data_root and $acng_cache (the rootfs tarball $rootfs_tar stays)"
  fi
}

case "${1:-}" in
  start)
    need_tools
    start_net
    [ "$builds" = 0 ] || start_proxy
    start_dockerd
    [ "$builds" = 0 ] || base_image
    say "ready: eval \"\$($0 env)\"  (or $0 run CMD...)"
    ;;
  env)
    echo "export DOCKER_HOST=unix://$sock"
    echo "export TD3DOCK_APT_PROXY=$proxy"
    ;;
  run)
    shift
    [ $# -gt 0 ] || die "run: no command"
    engine_up || die "no engine answers on $sock: $0 start"
    # loopback stays direct for anything in CMD that also speaks HTTP
    http_proxy=$proxy no_proxy=localhost,127.0.0.1 exec "$@"
    ;;
  nsexec)
    shift
    [ -e "/run/netns/$name" ] || die "no network namespace $name: $0 start"
    exec nsenter --net="/run/netns/$name" "$@"
    ;;
  status)
    st=0
    if [ -e "/run/netns/$name" ]; then
      say "namespace $name: $(ip -n "$name" -br addr show "$veth_ns" 2>/dev/null)"
    else
      say "namespace $name: absent"
    fi
    if alive "$acng_pidfile"; then say "apt proxy: $proxy (pid $(cat "$acng_pidfile"))"; else say "apt proxy: down"; fi
    if engine_up; then
      say "dockerd: $(docker version -f '{{.Server.Version}}') (pid $(cat "$pidfile" 2>/dev/null)), DOCKER_HOST=unix://$sock"
    else
      say "dockerd: down"; st=1
    fi
    exit $st
    ;;
  stop)
    [ "$(id -u)" = 0 ] || die "needs root"
    stop_all "${2:-}"
    ;;
  engine-stop)
    [ "$(id -u)" = 0 ] || die "needs root"
    stop_dockerd
    ;;
  link)
    [ "$(id -u)" = 0 ] || die "needs root"
    [ -n "${2:-}" ] || die "link: name the other engine's namespace"
    link_to "$2"
    ;;
  -h|--help|"")
    sed -n '2,/^set -u$/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    [ -n "${1:-}" ]; exit $? ;;
  *) die "unknown command '$1' (see --help)" ;;
esac
