#!/usr/bin/env bash
# Builds a minimal "upstream" image from this machine's Node runtime, for building the base
# images where no registry is reachable (the project's own image tests use it):
#   /usr/local/bin/node and /usr/bin/env with the shared libraries ldd names, /etc/passwd and
#   /etc/group with root and aiges (10001), /tmp (1777), PATH set. No shell, no package manager.
#
# Usage: docker/local-root.sh <image-name> [buildah global options: --root DIR --runroot DIR --storage-driver DRIVER]
#   The image goes where `aiges image` builds: buildah's store with the vfs driver (its default
#   --storage-driver), unless the options name another driver. Give `aiges image` the same
#   --storage-root/--run-root/--storage-driver as --root/--runroot/--storage-driver here, and plain
#   buildah commands the same global options (`buildah --storage-driver vfs images`).
#   NODE=/path/to/node   the Node binary to take (default: the node on PATH)
#   EXTRA_LIBS="a.so b.so" more libraries to copy with their dependencies (e.g. libcudart for the CUDA variant)
# Prints the image id. Needs buildah (apt-get install -y buildah).
set -euo pipefail

name=${1:?usage: docker/local-root.sh <image-name> [buildah global options]}
shift
# NOTE: buildah's own default driver (overlay on most machines) keeps a separate set of images that
# `aiges image` (vfs) cannot see, so vfs unless the caller chose a driver.
case " $* " in
  *" --storage-driver "* | *" --storage-driver="*) ;;
  *) set -- --storage-driver vfs "$@" ;;
esac
command -v buildah >/dev/null || { echo "local-root.sh: buildah not found; install it: apt-get install -y buildah" >&2; exit 1; }
node_bin=$(readlink -f "${NODE:-$(command -v node)}")
env_bin=$(readlink -f "$(command -v env)")

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 755 "$root"
mkdir -p "$root/usr/local/bin" "$root/usr/bin" "$root/etc" "$root/tmp" "$root/home"
chmod 1777 "$root/tmp"
cp "$node_bin" "$root/usr/local/bin/node"
cp "$env_bin" "$root/usr/bin/env"

# Each library at the path the loader resolved it to (and the name ldd printed, when a symlink).
copy_libs() {
  ldd "$@" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' | sort -u | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
copy_libs "$node_bin" "$env_bin"
lib_dirs=""
for lib in ${EXTRA_LIBS:-}; do
  mkdir -p "$root$(dirname "$lib")"
  lib_dirs="${lib_dirs:+$lib_dirs:}$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
  copy_libs "$lib"
done

printf 'root:x:0:0:root:/root:/sbin/nologin\naiges:x:10001:10001:aiges:/home/aiges:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\naiges:x:10001:\n' >"$root/etc/group"

ctr=$(buildah "$@" from scratch)
buildah "$@" copy "$ctr" "$root/" / >/dev/null
# No ld.so.cache in this root: the extra libraries' folders go on LD_LIBRARY_PATH instead.
buildah "$@" config --env PATH=/usr/local/bin:/usr/bin:/bin ${lib_dirs:+--env LD_LIBRARY_PATH=$lib_dirs} "$ctr"
buildah "$@" commit --quiet --rm "$ctr" "$name"
