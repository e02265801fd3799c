package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sync/errgroup"

	"callrec/board"
	"callrec/firmware/config"
	"callrec/hal"
	"callrec/recorder/capture"
	"callrec/recorder/track"
	"callrec/storage/retention"
)

// runDaemon runs the appliance until ctx is done: live capture on the
// SPAN interface(s) → call tracking → recording → vault and index, the
// front panel, the watchdog and the daily retention purge.
func runDaemon(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	load := storageFlags(fs)
	boardName := fs.String("board", "sim", "board to run on")
	feed := fs.Duration("watchdog", time.Second, "watchdog feed interval")
	ifaces := fs.String("iface", "", "capture interface(s), comma-separated (overrides capture.interfaces)")
	purgeEvery := fs.Duration("purge-every", 24*time.Hour, "how often the retention purge runs")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	if *ifaces != "" {
		cfg.Capture.Interfaces = strings.Split(*ifaces, ",")
	}
	if len(cfg.Capture.Interfaces) == 0 {
		return usageError{"run: no capture interface: set capture.interfaces in the configuration or give -iface"}
	}
	b, err := board.Lookup(*boardName)
	if err != nil {
		return usageError{err.Error()}
	}
	log := slog.Default().With("board", b.Name)
	parts, err := b.Open(log)
	if err != nil {
		return fmt.Errorf("open board %s: %w", b.Name, err)
	}
	log.Info("recorderd started", "version", version)
	lampTest(parts)

	lock, err := lockDaemon(cfg.Storage.DataDir)
	if err != nil {
		parts.FaultLED.Set(true)
		return fmt.Errorf("run: %w", err)
	}
	defer lock.Close()
	st, err := openStore(cfg.Storage, log, true)
	if err != nil {
		parts.FaultLED.Set(true)
		return err
	}
	defer st.Close()
	auditConfig(st, cfg, log)
	st.onChange = func(recording int, diskFull bool) {
		parts.RecLED.Set(recording > 0)
		parts.FaultLED.Set(diskFull)
	}
	st.checkDisk()

	// The tracker and recorder are single-threaded: every capture loop and
	// the ticks take this lock.
	var mu sync.Mutex
	rec, tc := st.recordingPath(cfg, log, nil)
	tr := track.New(tc, log)
	handle := tr.Handle
	var alive atomic.Int64 // the capture loops' last sign of life, for the watchdog
	var lastDisk time.Time

	g, ctx := errgroup.WithContext(ctx)
	for _, iface := range cfg.Capture.Interfaces {
		g.Go(func() error { // returns when ctx is done or the interface fails
			err := captureLive(ctx, iface, 0, log,
				func(dec *capture.Decoder, data []byte, at time.Time) {
					mu.Lock()
					dec.Decode(layers.LinkTypeEthernet, data, at, handle)
					mu.Unlock()
					alive.Store(time.Now().UnixNano())
				},
				func(now time.Time) {
					mu.Lock()
					tr.Tick(now)
					rec.Tick(now)
					if now.Sub(lastDisk) > 5*time.Second {
						lastDisk = now
						st.checkDisk()
					}
					mu.Unlock()
					alive.Store(now.UnixNano())
				})
			if errors.Is(err, capture.ErrPermission) {
				return fmt.Errorf("run: %w (run as root, or: setcap cap_net_raw+ep recorderd)", err)
			}
			return err
		})
	}
	g.Go(func() error { // returns when ctx is done
		return watchdog(ctx, parts.Watchdog, *feed, &alive, log)
	})
	g.Go(func() error { // returns when ctx is done: the status file, every 5 s
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			s := &status{Time: time.Now().UTC(), Version: version, Interfaces: cfg.Capture.Interfaces, Faults: []string{}}
			st.diskStatus(s, s.Time)
			if s.Disk.Full {
				s.Faults = append(s.Faults, "disk_full")
			}
			mu.Lock()
			ts := tr.Stats()
			mu.Unlock()
			s.Metrics = map[string]uint64{
				"calls_started": ts.CallsStarted, "calls_ended": ts.CallsEnded, "calls_evicted": ts.CallsEvicted,
				"sip_messages": ts.SIPMessages, "sip_errors": ts.SIPErrors, "rtp_packets": ts.RTPPackets,
				"disk_full": uint64(boolInt(s.Disk.Full)),
			}
			if err := writeStatus(cfg.Storage.DataDir, s); err != nil {
				log.Error("status not written", "err", err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	g.Go(func() error { // returns when ctx is done
		p := &retention.Purger{Vault: st.vault, Index: st.index, Retention: cfg.Storage.Retention(), Now: time.Now, Log: log}
		t := time.NewTicker(*purgeEvery)
		defer t.Stop()
		for {
			if res, err := p.Purge(); err != nil {
				log.Error("retention purge failed", "err", err)
			} else if res.Shredded+res.Held+res.Failed > 0 {
				log.Info("retention purge", "shredded", res.Shredded, "held", res.Held, "failed", res.Failed)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	})
	err = g.Wait()
	// Finish what is in progress: every open recording is closed properly.
	mu.Lock()
	tr.Flush("stopped")
	rec.Close()
	mu.Unlock()
	parts.RecLED.Set(false)
	if err != nil && !errors.Is(err, context.Canceled) {
		parts.FaultLED.Set(true)
		return err
	}
	log.Info("recorderd stopping")
	return nil
}

// lampTest lights every LED and turns them off again, as a technician
// expects at power-on.
func lampTest(p board.Parts) {
	leds := []hal.LED{p.RecLED, p.OptOutLED, p.FaultLED}
	for _, l := range leds {
		l.Set(true)
	}
	for _, l := range leds {
		l.Set(false)
	}
}

// watchdog feeds the hardware watchdog while the capture loops show
// life; a hung daemon stops feeding and the box resets.
func watchdog(ctx context.Context, w hal.Watchdog, every time.Duration, alive *atomic.Int64, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	alive.Store(time.Now().UnixNano())
	for {
		if time.Since(time.Unix(0, alive.Load())) < 10*every+5*time.Second {
			if err := w.Feed(); err != nil {
				log.Error("watchdog feed failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// auditConfig writes an audit entry when the configuration in force
// differs from the one the daemon last started with: a configuration
// change is audited like any other.
func auditConfig(st *store, cfg config.Config, log *slog.Logger) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return
	}
	sum := sha256.Sum256(b)
	digest := hex.EncodeToString(sum[:])
	entries, err := st.index.AuditLog()
	if err != nil {
		log.Error("audit log unreadable", "err", err)
		return
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Action == "config" {
			if entries[i].Target == digest {
				return // unchanged
			}
			break
		}
	}
	if err := st.audit("system", "config", digest, "configuration in force at start: "+string(b)); err != nil {
		log.Error("configuration change not audited", "err", err)
	}
}
