//go:build !linux

package proctest

func registerPlatformRoles() {}
