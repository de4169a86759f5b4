// Package cron holds the cron table that etcd-ramdisk install writes to
// /etc/cron.d/etcd-ramdisk, as a text/template kept where operators look for it.
// Package install renders it; its tests parse the schedules with a cron parser.
package cron
