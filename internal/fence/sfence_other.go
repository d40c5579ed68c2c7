//go:build !amd64

package fence

// storeFence does nothing: no other architecture's memmove uses
// non-temporal stores, and there the mark is a sync/atomic
// read-modify-write (see StoreBeforeCopy64).
func storeFence() {}
