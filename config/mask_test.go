package config

import "testing"

func TestMaskURLPassword(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"redis://u:hunter2@r:6379/2", "redis://u:****@r:6379/2"},
		{"redis://u:Sup3r@Secr3t@host:6379", "redis://u:****@host:6379"},
		{"rediss://:p@ss:w@rd@host/0", "rediss://:****@host/0"},
		{"redis://u:p/a?ss@host", "redis://u:****@host"},
		{"redis://host:6379", "redis://host:6379"},
		{"redis://user@host:6379", "redis://user@host:6379"},
		{"host:6379", "host:6379"},
	} {
		if got := maskURLPassword(tc.in); got != tc.want {
			t.Errorf("maskURLPassword(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
