#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver and etcd, plus a kubectl of
# the same release for the tests) from pinned Go modules, because this
# project's CI and development machines cannot download the prebuilt envtest
# tarballs. Prints the folder to use as KUBEBUILDER_ASSETS.
#
# Usage: hack/envtest-assets.sh [BIN_DIR]     (default: ./bin)
# A second run with the binaries present does nothing but print the folder.
set -euo pipefail

# The one place the control-plane versions are pinned.
KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${1:-${root}/bin}"
out="${bin_dir}/k8s/${KUBERNETES_VERSION#v}"
mkdir -p "${out}"
out="$(cd "${out}" && pwd)"

log() { printf 'envtest-assets: %s\n' "$*" >&2; }

# Each build happens in a throwaway module so none of these heavy dependencies
# ever reach the operator's own go.mod.
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
export GOFLAGS="-mod=mod"
export CGO_ENABLED=0

# k8s.io/kubernetes points every k8s.io/* staging module at ./staging/...;
# outside its own repository those must be replaced by the tagged releases.
prepare_kubernetes_module() {
  local mod="${work}/kubernetes"
  [ -f "${mod}/go.mod" ] && return 0
  local staging_version="v0${KUBERNETES_VERSION#v1}" # v1.37.2 -> v0.37.2
  mkdir -p "${mod}"
  (
    cd "${mod}"
    go mod init envtest.local/kubernetes >/dev/null 2>&1
    local gomod
    gomod="$(go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
    local replaces=()
    while read -r m; do
      replaces+=("-replace=${m}=${m}@${staging_version}")
    done < <(awk '$2 == "=>" && $3 ~ /^\.\/staging\// {print $1}' "${gomod}")
    [ "${#replaces[@]}" -gt 0 ] || { log "no staging replaces found in ${gomod}"; exit 1; }
    go mod edit "${replaces[@]}" "-require=k8s.io/kubernetes@${KUBERNETES_VERSION}"
    cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    go mod tidy >/dev/null
  )
}

# build_kubernetes_command NAME builds k8s.io/kubernetes/cmd/NAME with the
# release version stamped in, so /version and `kubectl version` tell the truth.
build_kubernetes_command() {
  local name="$1"
  prepare_kubernetes_module
  log "building ${name} ${KUBERNETES_VERSION} (several minutes on 2 cores)"
  local major minor pkg="k8s.io/component-base/version"
  major="$(echo "${KUBERNETES_VERSION#v}" | cut -d. -f1)"
  minor="$(echo "${KUBERNETES_VERSION#v}" | cut -d. -f2)"
  (
    cd "${work}/kubernetes"
    go build -trimpath -o "${out}/${name}" -ldflags "-s -w \
      -X ${pkg}.gitVersion=${KUBERNETES_VERSION} \
      -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor} \
      -X ${pkg}.gitTreeState=clean \
      -X ${pkg}.buildDate=1970-01-01T00:00:00Z" \
      "k8s.io/kubernetes/cmd/${name}"
  )
}

build_etcd() {
  local mod="${work}/etcd"
  mkdir -p "${mod}"
  log "building etcd ${ETCD_VERSION}"
  (
    cd "${mod}"
    go mod init envtest.local/etcd >/dev/null 2>&1
    cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    go mod edit "-require=go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
    go mod tidy >/dev/null
    go build -trimpath -ldflags "-s -w" -o "${out}/etcd" .
  )
}

stamp_ok() { [ -x "${out}/$1" ] && [ "$(cat "${out}/.$1.version" 2>/dev/null)" = "$2" ]; }

for cmd in kube-apiserver kubectl; do
  if ! stamp_ok "${cmd}" "${KUBERNETES_VERSION}"; then
    build_kubernetes_command "${cmd}"
    echo "${KUBERNETES_VERSION}" > "${out}/.${cmd}.version"
  fi
done
if ! stamp_ok etcd "${ETCD_VERSION}"; then
  build_etcd
  echo "${ETCD_VERSION}" > "${out}/.etcd.version"
fi

echo "${out}"
