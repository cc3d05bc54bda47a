//go:build tools

// Package tools pins the commands the e2e environment builds, so that `go mod tidy` keeps
// their dependencies in go.sum.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
