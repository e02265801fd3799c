//go:build !linux

package capture

import (
	"errors"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// ErrPermission is returned when live capture lacks privileges.
var ErrPermission = errors.New("live capture needs root or the CAP_NET_RAW capability")

// LiveConfig sets up a live capture.
type LiveConfig struct {
	Interface string
	RingMiB   int
	Timeout   time.Duration
}

// Live is unavailable off Linux: the box captures with AF_PACKET.
type Live struct{}

// OpenLive fails: live capture needs Linux.
func OpenLive(LiveConfig) (*Live, error) { return nil, errors.New("capture: live capture needs Linux") }

// ErrTimeout is a live read that found the wire quiet.
var ErrTimeout = errors.New("capture: timeout")

// IsTimeout reports whether err is a read timeout.
func IsTimeout(err error) bool { return errors.Is(err, ErrTimeout) }

func (*Live) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	return nil, gopacket.CaptureInfo{}, errors.New("capture: live capture needs Linux")
}
func (*Live) LinkType() layers.LinkType                    { return layers.LinkTypeEthernet }
func (*Live) Drops() (received, dropped uint64, err error) { return 0, 0, nil }
func (*Live) Close() error                                 { return nil }
