package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"callrec/firmware/config"
	"callrec/firmware/panel"
	"callrec/firmware/recording"
	"callrec/firmware/status"
	"callrec/recorder/pipeline"
	"callrec/storage/archive"
)

// Config is what the box runs with; a zero duration takes the default.
type Config struct {
	Box        config.Config // the configuration in force
	Interfaces []string      // capture interfaces
	Version    string
	// Capture opens a capture interface (a live socket on the box).
	Capture     func(iface string) (Source, error)
	Feed        time.Duration // watchdog feed interval (default 1 s)
	PurgeEvery  time.Duration // retention purge interval (default 24 h)
	StatusEvery time.Duration // status snapshot interval (default 5 s)
}

// Source is an open capture interface.
type Source interface {
	pipeline.Source
	Close() error
}

// Run runs the box until ctx is done or a part fails: the lamp test, then
// every part; at the end every recording in progress is closed properly,
// the disk worker drains, and the fault LED shows whether it failed.
func Run(ctx context.Context, c Config, pnl *panel.Panel, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c.Feed <= 0 {
		c.Feed = time.Second
	}
	if c.PurgeEvery <= 0 {
		c.PurgeEvery = 24 * time.Hour
	}
	if c.StatusEvery <= 0 {
		c.StatusEvery = 5 * time.Second
	}
	if len(c.Interfaces) == 0 {
		return errors.New("appliance: no capture interface")
	}
	log.Info("recorderd started", "version", c.Version)
	pnl.LampTest()
	err := run(ctx, c, pnl, log)
	pnl.Show(panel.Lights{Fault: err != nil})
	if err != nil {
		return err
	}
	log.Info("recorderd stopping")
	return nil
}

func run(ctx context.Context, c Config, pnl *panel.Panel, log *slog.Logger) error {
	// Only the daemon's first start, on an empty data directory, makes a key.
	acfg := c.Box.Storage.Archive(recording.Format{})
	acfg.CreateKey = true
	a, err := archive.Open(acfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Lock(); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if _, err := a.Recover(); err != nil {
		return err
	}
	if err := a.AuditConfig(c.Box); err != nil {
		log.Error("configuration change not audited", "err", err)
	}
	sink := recording.New(a, recording.Config{Mix: c.Box.Storage.Mix(), Track: c.Box.Calls.Track()}, log)
	p := pipeline.New(sink.Pipeline(), log)
	if _, err := sink.Resume(p, time.Now()); err != nil {
		log.Error("calls in progress at the last stop not resumed", "err", err)
	}

	wctx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan error, 1)
	go func() { workerDone <- a.Run(wctx) }() // returns after stopWorker, with the queue drained

	col := &status.Collector{Version: c.Version, Interfaces: c.Interfaces, Archive: a, Pipeline: p, Attempts: sink}
	health := func() panel.Health {
		st := a.State()
		stalled := time.Since(p.Alive()) > 10*c.Feed+5*time.Second
		return panel.Health{Lights: panel.Lights{Recording: st.Recording > 0, Fault: st.DiskFull || stalled}, Alive: !stalled}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, iface := range c.Interfaces {
		g.Go(func() error { // returns when gctx is done, the source ends or the interface fails
			src, err := c.Capture(iface)
			if err != nil {
				return fmt.Errorf("run: %w", err)
			}
			defer src.Close()
			log.Info("capturing", "iface", iface)
			if err := p.Run(gctx, src); err != nil {
				return fmt.Errorf("run: %s: %w", iface, err)
			}
			return nil
		})
	}
	dir := c.Box.Storage.DataDir
	g.Go(func() error { return pnl.Run(gctx, c.Feed, health) })          // until gctx is done
	g.Go(func() error { return col.Run(gctx, dir, c.StatusEvery, log) }) // until gctx is done
	g.Go(func() error { return a.WatchDisk(gctx, 5*time.Second) })       // until gctx is done
	g.Go(func() error { return a.RunPurge(gctx, c.PurgeEvery) })         // until gctx is done
	g.Go(func() error { return a.LogAuditHead(gctx, 24*time.Hour) })     // until gctx is done
	err = g.Wait()
	// Finish what is in progress: every open recording is closed properly.
	p.Close("stopped")
	stopWorker()
	if werr := <-workerDone; werr != nil {
		err = errors.Join(err, werr)
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
