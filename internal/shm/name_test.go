package shm

import (
	"errors"
	"strings"
	"testing"
)

func TestNameRulesResolveEachForm(t *testing.T) {
	tests := []struct {
		name, want string // want "" means ErrName
	}{
		{"quotes", "/dev/shm/quotes"},
		{"a bare name may hold dots..and spaces", "/dev/shm/a bare name may hold dots..and spaces"},
		{"..quotes", "/dev/shm/..quotes"},
		{strings.Repeat("n", 255), "/dev/shm/" + strings.Repeat("n", 255)},
		{"/mnt/huge/quotes", "/mnt/huge/quotes"},
		{"/dev/shm/./quotes", "/dev/shm/quotes"},
		{"", ""},
		{".", ""},
		{"..", ""},
		{"../x", ""},
		{"../../etc/passwd", ""},
		{"./quotes", ""},
		{"rings/quotes", ""},
		{"quotes/", ""},
		{"bad\x00name", ""},
		{"/dev/shm/bad\x00name", ""},
		{strings.Repeat("n", 256), ""},
		{"/dev/shm/quotes/", ""},
		{"/dev/shm/" + strings.Repeat("n", 255), "/dev/shm/" + strings.Repeat("n", 255)},
		{"/dev/shm/" + strings.Repeat("n", 256), ""},
		{"/dev/shm" + strings.Repeat("/n", 2043), "/dev/shm" + strings.Repeat("/n", 2043)},
		{"/dev/shm" + strings.Repeat("/n", 2044), ""},
	}
	for _, tt := range tests {
		got, err := Resolve(tt.name)
		if tt.want == "" {
			if !errors.Is(err, ErrName) {
				t.Errorf("Resolve(%q) = %q, %v; want ErrName", tt.name, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}
