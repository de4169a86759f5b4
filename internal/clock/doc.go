// Package clock is the wall clock etcd-ramdisk stamps and judges snapshots by.
// For tests only, ETCD_RAMDISK_TEST_CLOCK moves it away from the machine's
// clock, so that the end-to-end tests can play a node whose clock is wrong (a
// board without a battery clock after a power cut) without touching the host's.
package clock
