// Package images looks into etcd images and keeps them safe: it finds which of
// etcd's tools an image really contains (by reading its layers, not by guessing
// from its tag), and exports an image to an OCI archive in the backup dir and
// imports it back, so a restore works even after containerd lost the image.
package images
