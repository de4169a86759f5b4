# etcd-ramdisk: `make demo` runs the main job against a kubeadm-like test node;
# `make test` runs vet, unit tests, the end-to-end tests on the host test node and
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

.PHONY: all build deps etcd-bins testbed-bins images vet unit e2e e2e-containerd2 containerd2 test faults demo bed-up bed-down clean

all: build

build:
	$(GO) build -trimpath -o $(BIN)/etcd-ramdisk ./cmd/etcd-ramdisk
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

e2e: deps images build
	$(GO) test -count=1 -timeout 80m -v ./e2e/

# containerd 2.x (v2.4.2, pinned in testbed/containerd2/go.mod) built from the
# module proxy; shared by e2e-containerd2 and the VM suite.
CONTAINERD2 := $(BIN)/containerd2
containerd2:
	testbed/build-containerd2.sh $(CONTAINERD2)

# The containerd 2.x leg on the host test node (ERD_CONTAINERD_BIN selects its
# binaries): backup -> reboot -> restore for both images and both methods (the
# containerd API and --runtime nerdctl), kill -9 during backup and restore,
# runtime faults, install/uninstall and the docker shim (about 3 minutes).
E2E_CONTAINERD2_TESTS := TestBackupRebootRestore|TestBackupRebootRestoreNerdctl|TestFaultCrashDuringBackup|TestFaultCrashDuringRestore|TestFaultRuntime|TestInstallNowAndUninstall|TestDockerShim
e2e-containerd2: deps images build containerd2
	ERD_CONTAINERD_BIN=$(CONTAINERD2) $(GO) test -count=1 -timeout 30m -v -run '^($(E2E_CONTAINERD2_TESTS))$$' ./e2e/

test: vet unit e2e e2e-containerd2 bench-smoke vm-test

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
