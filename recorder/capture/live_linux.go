package capture

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// ErrPermission is returned when live capture lacks root or CAP_NET_RAW.
var ErrPermission = errors.New("live capture needs root or the CAP_NET_RAW capability")

// LiveConfig sets up a live capture; a zero field takes the default.
type LiveConfig struct {
	Interface string        // required, e.g. "eth1" or "lo"
	RingMiB   int           // ring buffer size (default 32 MiB)
	Timeout   time.Duration // how long a read waits before retrying (default 100 ms)
}

// Live captures from an interface with a TPACKET_V3 ring (AF_PACKET), in
// promiscuous mode, with a kernel timestamp on every packet.
type Live struct {
	tp    *afpacket.TPacket
	iface string
}

// OpenLive opens the interface for capture.
func OpenLive(cfg LiveConfig) (*Live, error) {
	if cfg.Interface == "" {
		return nil, errors.New("capture: no interface named")
	}
	if cfg.RingMiB == 0 {
		cfg.RingMiB = 32
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 100 * time.Millisecond
	}
	const frame = 1 << 16
	const block = frame * 8
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(cfg.Interface),
		afpacket.OptFrameSize(frame),
		afpacket.OptBlockSize(block),
		afpacket.OptNumBlocks(cfg.RingMiB<<20/block),
		afpacket.OptPollTimeout(cfg.Timeout),
		afpacket.OptTPacketVersion(afpacket.TPacketVersion3),
		afpacket.SocketRaw,
	)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, os.ErrPermission) {
			return nil, fmt.Errorf("capture: %s: %w", cfg.Interface, ErrPermission)
		}
		return nil, fmt.Errorf("capture: open %s: %w", cfg.Interface, err)
	}
	// The kernel shows the box's own transmissions as outgoing packets; on
	// loopback that is every packet a second time. A socket filter drops
	// them, so each packet is seen once.
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 1},
		bpf.RetConstant{Val: 1 << 18},
		bpf.RetConstant{Val: 0},
	})
	if err == nil {
		err = tp.SetBPF(prog)
	}
	if err != nil {
		tp.Close()
		return nil, fmt.Errorf("capture: filter on %s: %w", cfg.Interface, err)
	}
	if err := setPromisc(cfg.Interface); err != nil {
		tp.Close()
		return nil, fmt.Errorf("capture: promiscuous mode on %s: %w", cfg.Interface, err)
	}
	return &Live{tp: tp, iface: cfg.Interface}, nil
}

// ErrTimeout is a live read that found the wire quiet.
var ErrTimeout = afpacket.ErrTimeout

// IsTimeout reports whether err is a read timeout rather than a failure.
func IsTimeout(err error) bool { return errors.Is(err, ErrTimeout) }

// ReadPacketData implements Source. A read that times out returns
// afpacket.ErrTimeout, so the caller can check its context.
func (l *Live) ReadPacketData() ([]byte, gopacket.CaptureInfo, error) {
	return l.tp.ReadPacketData()
}

// LinkType implements Source: AF_PACKET raw sockets give Ethernet frames.
func (l *Live) LinkType() layers.LinkType { return layers.LinkTypeEthernet }

// Drops returns the kernel's counters since the socket opened: packets
// received and packets dropped for want of ring space.
func (l *Live) Drops() (received, dropped uint64, err error) {
	_, v3, err := l.tp.SocketStats()
	if err != nil {
		return 0, 0, fmt.Errorf("capture: stats: %w", err)
	}
	return uint64(v3.Packets()), uint64(v3.Drops()), nil
}

// Close releases the ring.
func (l *Live) Close() error {
	l.tp.Close()
	return nil
}

// setPromisc asks the kernel to deliver every frame on the interface.
func setPromisc(iface string) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return err
	}
	mreq := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
	return unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq)
}
