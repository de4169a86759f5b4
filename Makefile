# etcd-ramdisk: `make demo` runs the main job against a kubeadm-like test node;
# `make test` runs vet, unit tests and the end-to-end tests. Both need root.
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

.PHONY: all build deps testbed-bins images vet unit e2e test demo bed-up bed-down clean

all: build

build:
	$(GO) build -trimpath -o $(BIN)/etcd-ramdisk ./cmd/etcd-ramdisk
	$(GO) build -trimpath -o $(BIN)/testbed ./testbed/cmd/testbed

deps:
	testbed/install-deps.sh

testbed-bins:
	testbed/build-etcd.sh $(BIN)
	$(GO) build -trimpath -o $(BIN)/pause ./testbed/pause

images: testbed-bins build
	$(BIN)/testbed build-images --out $(IMG)

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 $(UNIT_PKGS)

e2e: deps images build
	$(GO) test -count=1 -timeout 80m -v ./e2e/

test: vet unit e2e

demo: deps images build
	testbed/demo.sh

bed-up: deps images build
	$(BIN)/testbed up --images $(IMG)

bed-down:
	-$(BIN)/testbed down

clean: bed-down
	rm -rf $(OUT)
