//go:build !linux

package futex_test

// The cross-process roles need MAP_SHARED mappings; see roles_linux_test.go.
func registerRoles() {}
