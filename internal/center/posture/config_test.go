package posture

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParsePort(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tcp/22", "tcp/22"}, {"TCP6/0022", "tcp/22"}, {" udp6/68 ", "udp/68"}, {"udp/65535", "udp/65535"},
		{"tcp", ""}, {"sctp/22", ""}, {"tcp/0", ""}, {"tcp/65536", ""}, {"tcp/ssh", ""}, {"/22", ""}, {"", ""},
		{"tcp/22/1", ""},
	}
	for _, tc := range tests {
		got, err := ParsePort(tc.in)
		if tc.want == "" {
			if !errors.Is(err, ErrBadPort) {
				t.Errorf("ParsePort(%q) = %q, %v; want ErrBadPort", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParsePort(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
	err := Config{AllowedPorts: []string{"tcp/22", "http"}, SilentAfter: -time.Second, SmallMessageBytes: -1, ManyMessagesPerDay: -1}.Validate()
	for _, want := range []string{"allowedPorts[1]", "silentAfter", "smallMessageBytes", "manyMessagesPerDay"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want a problem naming %s", err, want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	got := Config{}.withDefaults()
	if got.SilentAfter != time.Hour || got.SmallMessageBytes != 1024 || got.ManyMessagesPerDay != 500 ||
		strings.Join(got.AllowedPorts, ",") != "tcp/22,udp/68" {
		t.Errorf("defaults: %+v", got)
	}
	if got := (Config{AllowedPorts: []string{}}).withDefaults(); got.AllowedPorts == nil || len(got.AllowedPorts) != 0 {
		t.Errorf("an empty allowlist became %v", got.AllowedPorts)
	}
}
