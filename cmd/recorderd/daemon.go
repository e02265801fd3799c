package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"callrec/board"
	"callrec/firmware/config"
	"callrec/firmware/panel"
	"callrec/firmware/recording"
	"callrec/firmware/status"
	"callrec/recorder/pipeline"
	"callrec/storage/archive"
)

// runDaemon runs the appliance until ctx is done: live capture on the
// SPAN interface(s) → calls → recordings in the archive, with the front
// panel, the watchdog, the status file, the disk watch and the daily
// retention purge.
func runDaemon(ctx context.Context, args []string, log *slog.Logger, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	load := storageFlags(fs)
	boardName := fs.String("board", "sim", "board to run on")
	feed := fs.Duration("watchdog", time.Second, "watchdog feed interval")
	ifaces := fs.String("iface", "", "capture interface(s), comma-separated (overrides capture.interfaces)")
	purgeEvery := fs.Duration("purge-every", 24*time.Hour, "how often the retention purge runs")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *feed <= 0 || *purgeEvery <= 0 {
		return usageError{"run: -watchdog and -purge-every must be positive durations"}
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
	log = log.With("board", b.Name)
	parts, err := b.Open(log)
	if err != nil {
		return fmt.Errorf("open board %s: %w", b.Name, err)
	}
	pnl := &panel.Panel{Rec: parts.RecLED, OptOut: parts.OptOutLED, Fault: parts.FaultLED, Watchdog: parts.Watchdog, Log: log}
	log.Info("recorderd started", "version", version)
	pnl.LampTest()
	err = serve(ctx, cfg.Capture.Interfaces, load, *feed, *purgeEvery, pnl, log)
	pnl.Show(panel.Lights{Fault: err != nil})
	if err != nil {
		return err
	}
	log.Info("recorderd stopping")
	return nil
}

// serve runs the box's parts until ctx is done or one fails, then closes
// every recording in progress and drains the disk worker.
func serve(ctx context.Context, ifaces []string, load func() (config.Config, error), feed, purgeEvery time.Duration, pnl *panel.Panel, log *slog.Logger) error {
	cfg, err := load()
	if err != nil {
		return err
	}
	// Only the daemon's first start, on an empty data directory, makes a key.
	acfg := cfg.Storage.Archive(recording.Format{})
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
	if err := a.AuditConfig(cfg); err != nil {
		log.Error("configuration change not audited", "err", err)
	}
	sink := recording.New(a, recording.Config{Mix: cfg.Storage.Mix(), Track: cfg.Calls.Track()}, log)
	p := pipeline.New(sink.Pipeline(), log)
	if _, err := sink.Resume(p, time.Now()); err != nil {
		log.Error("calls in progress at the last stop not resumed", "err", err)
	}

	wctx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan error, 1)
	go func() { workerDone <- a.Run(wctx) }() // returns after stopWorker, with the queue drained

	col := &status.Collector{Version: version, Interfaces: ifaces, Archive: a, Pipeline: p, Attempts: sink}
	health := func() panel.Health {
		st := a.State()
		stalled := time.Since(p.Alive()) > 10*feed+5*time.Second
		return panel.Health{Lights: panel.Lights{Recording: st.Recording > 0, Fault: st.DiskFull || stalled}, Alive: !stalled}
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, iface := range ifaces {
		g.Go(func() error { // returns when gctx is done or the interface fails
			src, err := openLive(iface)
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
	g.Go(func() error { return pnl.Run(gctx, feed, health) })                            // until gctx is done
	g.Go(func() error { return col.Run(gctx, cfg.Storage.DataDir, 5*time.Second, log) }) // until gctx is done
	g.Go(func() error { return a.WatchDisk(gctx, 5*time.Second) })                       // until gctx is done
	g.Go(func() error { return a.RunPurge(gctx, purgeEvery) })                           // until gctx is done
	g.Go(func() error { return a.LogAuditHead(gctx, 24*time.Hour) })                     // until gctx is done
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
