//go:build tools

// Package tools makes go mod tidy keep the commands built from this module.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
