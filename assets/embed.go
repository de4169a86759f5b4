package assets

import _ "embed"

// The templates live beside this file under the names they get on the node,
// so an operator finds there what install writes.
var (
	//go:embed 20-etcd-ramdisk.conf
	dropInTemplate string
	//go:embed etcd-ramdisk
	cronTemplate string
	//go:embed etcd-ramdisk-journal.service
	journalUnitTemplate string
)
