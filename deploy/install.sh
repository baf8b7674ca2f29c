#!/bin/sh
# Install or upgrade Vigil as a systemd service, from this source tree.
#
#   sudo deploy/install.sh gateway [--no-start]   a gateway on Raspberry Pi OS / Debian (arm64, x86-64)
#   sudo deploy/install.sh central [--no-start]   the central
#   sudo deploy/install.sh rollback gateway|central   back to the previous release
#
# Each install is a new release under /opt/vigil/releases/, switched to atomically through
# /opt/vigil/current; the outbox and state (/var/lib/vigil) and the configuration (/etc/vigil) are
# never touched, so an upgrade loses nothing and a rollback is one symlink. Needs npm (and, to
# build the GPIO addon, python3, make and g++); Node.js 24 comes from the system when it is 24,
# else from the package's pinned `node` dependency. See docs/deploy.md.
set -eu

PREFIX=/opt/vigil
CONFIG=/etc/vigil
STATE=/var/lib/vigil
KEEP_RELEASES=3

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "==> $*"; }

[ "$(id -u)" = 0 ] || die "run as root (sudo $0 $*)"
[ $# -ge 1 ] || die "usage: $0 gateway|central [--no-start] | rollback gateway|central"

systemd_running() { [ -d /run/systemd/system ]; }

if [ "$1" = rollback ]; then
  role=${2:-}
  case "$role" in gateway|central) ;; *) die "usage: $0 rollback gateway|central" ;; esac
  current=$(readlink -f "$PREFIX/current") || die "nothing installed under $PREFIX"
  previous=$(ls -1d "$PREFIX"/releases/* | grep -vx "$current" | sort | tail -n 1)
  [ -n "$previous" ] || die "no earlier release to go back to"
  ln -sfn "$previous" "$PREFIX/current.new" && mv -T "$PREFIX/current.new" "$PREFIX/current"
  ln -sfn "$previous/runtime/node" "$PREFIX/node.new" && mv -T "$PREFIX/node.new" "$PREFIX/node"
  if systemd_running; then systemctl restart "vigil-$role.service"; fi
  say "rolled back to $previous"
  exit 0
fi

role=$1
shift
case "$role" in gateway|central) ;; *) die "unknown role '$role' (gateway or central)" ;; esac
start=yes
for arg in "$@"; do
  case "$arg" in
    --no-start) start=no ;;
    *) die "unknown option $arg" ;;
  esac
done

source_dir=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$source_dir/package.json" ] || die "$source_dir is not a Vigil source tree"
command -v npm >/dev/null || die "npm is needed (apt-get install npm, or Node.js 24 from nodejs.org)"
command -v node >/dev/null || die "node is needed to run npm"

# The GPIO addon (onoff -> epoll) is compiled at install: node-gyp needs python3, make and g++.
missing=""
for tool in python3 make g++; do command -v "$tool" >/dev/null || missing="$missing $tool"; done
if [ -n "$missing" ]; then
  command -v apt-get >/dev/null || die "native addons build with python3, make and g++; install:$missing"
  say "installing the build tools for native addons:$missing"
  apt-get update -qq
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# 1. The service account: no login, no home; a gateway reads GPIO (gpio) and serial links (dialout).
getent group gpio >/dev/null || groupadd --system gpio
getent group dialout >/dev/null || groupadd --system dialout
if ! id vigil >/dev/null 2>&1; then
  useradd --system --user-group --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin vigil
  say "created system user vigil"
fi
if [ "$role" = gateway ]; then usermod -a -G gpio,dialout vigil; fi

# 2. A new release, built from this tree.
version=$(node -p "require('$source_dir/package.json').version")
release="$PREFIX/releases/$version-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$release"
say "building $release"
(cd "$source_dir" && tar --exclude=./node_modules --exclude=./data --exclude=./dist --exclude=./.git -cf - .) |
  tar -C "$release" -xf -
# Native addons build against the installed Node's own headers (NodeSource: /usr/include/node; the
# nodejs.org tarball: <prefix>/include/node), so node-gyp needs no download.
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [ -f "$node_prefix/include/node/node.h" ]; then export npm_config_nodedir="$node_prefix"; fi
(cd "$release" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
mkdir -p "$release/runtime"
system_node=$(command -v node)
if [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 24 ]; then
  ln -sfn "$system_node" "$release/runtime/node"
else
  # The system's Node is older: keep the release's pinned Node 24 (npm's `node` package).
  cp "$(readlink -f "$release/node_modules/.bin/node")" "$release/runtime/node"
fi
(cd "$release" && npm prune --omit=dev --no-audit --no-fund --loglevel=error)
"$release/runtime/node" -e 'if (+process.versions.node.split(".")[0] < 24) process.exit(1)' ||
  die "$release/runtime/node is not Node.js 24"
chown -R root:root "$release"

# 3. Configuration and state: created once, kept across upgrades.
install -d -m 0750 -o root -g vigil "$CONFIG"
install -d -m 0700 -o vigil -g vigil "$STATE"
if [ "$role" = gateway ]; then
  # The installer changes devices through the gateway, which writes its config file.
  chown vigil:vigil "$CONFIG"
  [ -e "$CONFIG/gateway.json" ] || configured=no
  install -m 0644 "$release/deploy/udev/99-vigil.rules" /etc/udev/rules.d/99-vigil.rules
  install -d /etc/systemd/journald.conf.d
  install -m 0644 "$release/deploy/journald/vigil.conf" /etc/systemd/journald.conf.d/vigil.conf
else
  if [ ! -e "$CONFIG/central.env" ]; then
    install -m 0640 -o root -g vigil "$release/deploy/central.env.example" "$CONFIG/central.env"
    configured=no
  fi
  install -d -m 0700 -o vigil -g vigil /var/backups/vigil
  install -m 0644 "$release/deploy/systemd/vigil-backup.service" /etc/systemd/system/
  install -m 0644 "$release/deploy/systemd/vigil-backup.timer" /etc/systemd/system/
fi
install -m 0644 "$release/deploy/systemd/vigil-$role.service" /etc/systemd/system/

# 4. Switch to the release (atomically), keep the last few.
ln -sfn "$release" "$PREFIX/current.new" && mv -T "$PREFIX/current.new" "$PREFIX/current"
ln -sfn "$release/runtime/node" "$PREFIX/node.new" && mv -T "$PREFIX/node.new" "$PREFIX/node"
ls -1d "$PREFIX"/releases/* | sort | head -n -"$KEEP_RELEASES" | while read -r old; do
  [ "$old" = "$release" ] || rm -rf "$old"
done

# 5. systemd: enable; start or restart when systemd runs here and the service is configured.
systemctl enable "vigil-$role.service" >/dev/null 2>&1 || systemctl enable "vigil-$role.service"
[ "$role" = central ] && systemctl enable vigil-backup.timer >/dev/null 2>&1
if systemd_running; then
  systemctl daemon-reload
  [ "$role" = gateway ] && command -v udevadm >/dev/null && udevadm control --reload && udevadm trigger
  [ "$role" = gateway ] && systemctl try-restart systemd-journald.service
  if [ "$start" = yes ] && [ "${configured:-yes}" = yes ]; then
    systemctl restart "vigil-$role.service"
    say "vigil-$role restarted on $release"
  fi
fi
say "installed $release"
if [ "${configured:-yes}" = no ]; then
  if [ "$role" = gateway ]; then
    say "next: put the gateway's configuration in $CONFIG/gateway.json (docs/deploy.md), then: systemctl start vigil-gateway"
  else
    say "next: set DATABASE_URL and the rest in $CONFIG/central.env, then: systemctl start vigil-central"
  fi
fi
