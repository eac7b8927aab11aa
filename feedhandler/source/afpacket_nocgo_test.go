//go:build !cgo || !linux

package source

import (
	"errors"
	"strings"
	"testing"
)

func TestAFPacketNeedsCgo(t *testing.T) {
	a, err := OpenAFPacket(AFPacketConfig{Interface: "lo"})
	if a != nil || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "AF_PACKET needs a cgo build") {
		t.Fatalf("OpenAFPacket = %v, %v", a, err)
	}
}
