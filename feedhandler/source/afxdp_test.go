package source_test

import (
	"errors"
	"testing"

	"github.com/ballast-risk/ballast/feedhandler/source"
)

func TestParseAFXDPModes(t *testing.T) {
	for _, m := range []source.XDPAttachMode{source.XDPAttachAuto, source.XDPAttachDriver, source.XDPAttachGeneric} {
		if got, err := source.ParseXDPAttachMode(m.String()); err != nil || got != m {
			t.Errorf("ParseXDPAttachMode(%q) = %v %v", m.String(), got, err)
		}
	}
	for _, m := range []source.AFXDPBindMode{source.AFXDPBindAuto, source.AFXDPBindCopy, source.AFXDPBindZeroCopy} {
		if got, err := source.ParseAFXDPBindMode(m.String()); err != nil || got != m {
			t.Errorf("ParseAFXDPBindMode(%q) = %v %v", m.String(), got, err)
		}
	}
	for _, s := range []string{"", "native", "skb", "DRIVER"} {
		if _, err := source.ParseXDPAttachMode(s); !errors.Is(err, source.ErrConfig) {
			t.Errorf("ParseXDPAttachMode(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "zc", "Copy"} {
		if _, err := source.ParseAFXDPBindMode(s); !errors.Is(err, source.ErrConfig) {
			t.Errorf("ParseAFXDPBindMode(%q): %v", s, err)
		}
	}
	if s := source.XDPAttachMode(9).String(); s != "XDPAttachMode(9)" {
		t.Errorf("unknown mode String %q", s)
	}
}
