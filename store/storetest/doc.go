// Package storetest writes snapshots into a test's store as a backup would
// have, for the tests of the packages that read the store's history (the
// reset guard, the shutdown record, a restore's staleness).
package storetest
