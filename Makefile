# etcd-ramdisk: `make demo` runs the main job against a kubeadm-like test node;
# `make release` builds the binaries and .debs (_output/release);
# `make test` runs vet, unit tests (also arm64 under qemu-user), the .deb's
# install/remove test, the end-to-end tests on the host test node and
# the VM suite (a real kubeadm node under QEMU: real systemd, kubelet, reboots).
# Both need root.
SHELL := /bin/bash
GO    ?= go
OUT   := $(CURDIR)/_output
BIN   := $(OUT)/bin
IMG   := $(OUT)/images
export ERD_BIN    := $(BIN)
export ERD_IMAGES := $(IMG)
export ERD_BED    ?= /var/tmp/erd-bed
export CGO_ENABLED := 0

UNIT_PKGS := $(shell $(GO) list ./... | grep -v -e /e2e -e /testbed/cmd)

# The version and commit stamped into etcd-ramdisk (internal/buildinfo; see
# `etcd-ramdisk version`): git describe, or v0.0.0-<commits>-g<sha> before the
# first tag (packaging/version.sh). Override with make release VERSION=v1.2.3.
ifndef VERSION
VERSION := $(shell packaging/version.sh 2>/dev/null)
endif
ifndef COMMIT
COMMIT := $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
endif
BUILDINFO := github.com/etcd-ramdisk/etcd-ramdisk/internal/buildinfo
LDFLAGS   := -X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).commit=$(COMMIT)

.PHONY: all build deps etcd-bins testbed-bins images vet unit unit-arm64 release deb-test e2e e2e-containerd1 containerd2 test faults demo bed-up bed-down clean

all: build

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/etcd-ramdisk ./cmd/etcd-ramdisk
	$(GO) build -trimpath -o $(BIN)/testbed ./testbed/cmd/testbed

deps:
	testbed/install-deps.sh

# etcd, etcdctl and etcdutl of each version the bed runs (the journal's unit
# tests run the real etcd too).
etcd-bins:
	testbed/build-etcd.sh $(BIN)

testbed-bins: etcd-bins
	testbed/build-nerdctl.sh $(BIN)
	testbed/build-s3.sh $(BIN)
	$(GO) build -trimpath -o $(BIN)/pause ./testbed/pause

images: testbed-bins build
	$(BIN)/testbed build-images --out $(IMG)

vet:
	$(GO) vet ./...

# deps: the drop-in check runs systemd-analyze, which a fresh machine lacks.
unit: deps etcd-bins
	ERD_ETCD_BIN=$(BIN)/etcd-3.6.16/etcd $(GO) test -count=1 $(UNIT_PKGS)

# containerd 2.x (v2.4.2, pinned in testbed/containerd2/go.mod) built from the
# module proxy; shared by the host end-to-end suite and the VM suite.
CONTAINERD2 := $(BIN)/containerd2
containerd2:
	testbed/build-containerd2.sh $(CONTAINERD2)

# The whole host end-to-end suite on containerd 2.x: ERD_CONTAINERD_BIN selects
# the bed's containerd binaries; unset or empty, the bed runs Debian's 1.6 from
# PATH (what e2e-containerd1 does). The suite prints the containerd under test.
e2e: deps images build containerd2
	ERD_CONTAINERD_BIN=$(CONTAINERD2) $(GO) test -count=1 -timeout 80m -v ./e2e/

test: vet unit unit-arm64 deb-test e2e e2e-containerd1 bench-smoke vm-test

# The arm64 build's unit tests, run by qemu-user (Debian's qemu-user-static;
# no binfmt_misc: only the test binary runs under qemu). The packages linked
# into etcd-ramdisk, less journal (its tests run a real etcd, an amd64 binary).
# Skipped: hostfs's TestStartTime (it reads its own /proc/<pid>/stat twice, and
# qemu-user fakes the start time there per thread; the product reads its own
# once, see hostfs.OwnerAlive) and store's TestLockProcesses (it re-executes the
# test binary: an arm64 child). All of them run in `make unit` on amd64.
# -trimpath: the arm64 packages compiled here are the ones `make release`
# links (one cross-compile, not two).
# See packaging/README.md.
ARM64_UNIT_PKGS = $(shell $(GO) list -deps ./cmd/etcd-ramdisk | grep '^github.com/etcd-ramdisk/etcd-ramdisk/' | grep -v -e '/journal$$')
ARM64_UNIT_SKIP := ^(TestStartTime|TestLockProcesses)$$
unit-arm64: deps
	GOARCH=arm64 $(GO) test -count=1 -trimpath -exec qemu-aarch64-static -skip '$(ARM64_UNIT_SKIP)' $(ARM64_UNIT_PKGS)

# Release: static binaries (CGO_ENABLED=0, -trimpath, stripped) for linux/amd64
# and linux/arm64 stamped with $(VERSION), a .deb of each (packaging/, nfpm),
# and SHA256SUMS, in $(RELEASE). The packages carry no maintainer scripts:
# nothing outside their files changes until `etcd-ramdisk install` runs.
RELEASE := $(OUT)/release
RELEASE_ARCHES := amd64 arm64
DEB_MAINTAINER ?= The etcd-ramdisk Authors <maintainers@etcd-ramdisk.invalid>
release:
	@case "$(VERSION)" in v[0-9]*) ;; *) echo "release: no version (VERSION=$(VERSION)); is this a git checkout?" >&2; exit 1;; esac
	rm -rf $(RELEASE) && mkdir -p $(RELEASE)
	$(GO) -C packaging build -trimpath -o $(BIN)/erd-package .
	set -e; for a in $(RELEASE_ARCHES); do \
	  GOOS=linux GOARCH=$$a $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(RELEASE)/etcd-ramdisk-linux-$$a ./cmd/etcd-ramdisk; \
	  $(BIN)/erd-package -binary $(RELEASE)/etcd-ramdisk-linux-$$a -arch $$a -version $(VERSION) -commit $(COMMIT) \
	    -maintainer "$(DEB_MAINTAINER)" -mtime $$(git log -1 --format=%ct) -out $(RELEASE); \
	done
	cd $(RELEASE) && sha256sum etcd-ramdisk-linux-* *.deb > SHA256SUMS

# Installs the amd64 .deb with dpkg -i, runs version and install --dry-run on
# a test root, removes and purges it, checking that nothing outside the
# package's files changes (needs root; seconds). Also runs the packaging
# module's own tests (dpkg-deb reads the packages it builds).
deb-test: deps release
	$(GO) -C packaging vet ./...
	$(GO) -C packaging test -count=1 ./...
	packaging/deb-test.sh $(RELEASE) $(VERSION) $(COMMIT)

# The legacy leg on Debian's containerd 1.6, the subset that guards its path:
# backup -> reboot -> restore by exec and sidecar through the containerd API
# (etcd 3.7, 3.6, 3.5) and --runtime nerdctl (3.6, 3.5), kill -9 during backup
# and restore, runtime faults, install/uninstall and the docker shim.
E2E_CONTAINERD1_TESTS := TestBackupRebootRestore|TestBackupRebootRestoreNerdctl|TestFaultCrashDuringBackup|TestFaultCrashDuringRestore|TestFaultRuntime|TestInstallNowAndUninstall|TestDockerShim
e2e-containerd1: deps images build
	ERD_CONTAINERD_BIN= $(GO) test -count=1 -timeout 30m -v -run '^($(E2E_CONTAINERD1_TESTS))$$' ./e2e/


# The fault suite in full: 50 crash trials per kind (make test runs every case
# with fewer trials). It prints a summary table; zeros are the promise.
faults: deps images build
	ERD_FAULT_TRIALS=50 $(GO) test -count=1 -timeout 85m -v -run 'Fault|BadInput|Sidecars|StoreFileModes|TwentyReboot|SurvivesKill9' ./e2e/

demo: deps images build
	testbed/demo.sh

# Benchmarks (bench/README.md): figures on stdout and in $(OUT)/bench; they never
# assert timings. bench-smoke is seconds-long with tiny sizes and keeps bench working.
.PHONY: bench bench-smoke
ERD_BENCH_BED ?= /var/tmp/erd-bench
BENCH_FLAGS ?=

bench: deps images build
	command -v strace >/dev/null || apt-get install -y strace
	$(GO) build -trimpath -o $(BIN)/erd-bench ./bench/cmd/erd-bench
	$(BIN)/erd-bench --out $(OUT)/bench --bed-base $(ERD_BENCH_BED) $(BENCH_FLAGS)

bench-smoke: deps images build
	command -v strace >/dev/null || apt-get install -y strace
	$(GO) build -trimpath -o $(BIN)/erd-bench ./bench/cmd/erd-bench
	$(BIN)/erd-bench --smoke --out $(OUT)/bench --bed-base $(ERD_BENCH_BED) $(BENCH_FLAGS)

bed-up: deps images build
	$(BIN)/testbed up --images $(IMG)

bed-down:
	-$(BIN)/testbed down

clean: bed-down
	rm -rf $(OUT)

# VM test bed (testbed/vm/README.md): a real kubeadm node in QEMU (TCG). vm-assets
# builds real kubelet/kubeadm, containerd 2.x and the Debian base image (cached
# in ERD_VM_CACHE, rebuilt only when testbed/vm/build-rootfs.sh changes);
# vm-test runs the VM suite (e2e/vm).
.PHONY: vm-assets vm-test vm-smoke
export ERD_VM_CACHE ?= /var/cache/erd-vm

vm-assets: images build containerd2
	testbed/vm/install-deps.sh
	testbed/vm/build-kube.sh $(BIN)
	testbed/vm/build-rootfs.sh $(ERD_VM_CACHE)

# make test runs the node's life (TestVMNodeReboots: both containerd legs side by
# side); vm-smoke only boots, sets up and reboots a node without etcd-ramdisk.
vm-test: vm-assets
	$(GO) test -v -count=1 -timeout 60m -run 'TestVMNodeReboots|TestMeasureRPO|TestImageOnlyDiff' ./e2e/vm/

vm-smoke: vm-assets
	$(GO) test -v -count=1 -timeout 30m -run 'TestVMNodeSmoke' ./e2e/vm/
