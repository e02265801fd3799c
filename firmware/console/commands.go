package console

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"callrec/hal"
	"callrec/storage/archive"
)

func (c *Console) commands() map[string]command {
	return map[string]command{
		"help":                 {"", "this list", c.help},
		"status":               {"", "the box's state", c.status},
		"calls":                {"", "calls in progress (numbers masked)", c.calls},
		"optout":               {"CALL", "stop recording a call in progress and destroy its audio", c.optout},
		"show network":         {"", "the box's addresses, gateway and DNS", c.showNetwork},
		"set network":          {"dhcp | static ADDR/PREFIX GW DNS", "change them; reverts unless confirmed within 60 s", c.setNetwork},
		"show time":            {"", "the clock and its synchronisation", c.showTime},
		"ping":                 {"HOST", "reach a host (3 echo requests)", c.ping},
		"show log":             {"[N]", "the daemon's last N log lines (default 20)", c.showLog},
		"show disk":            {"", "space, reserve, days left", c.showDisk},
		"show faults":          {"", "what lights the fault LED", c.showFaults},
		"ack fault":            {"", "acknowledge a watchdog reboot", c.ackFault},
		"leds test":            {"", "light every LED in turn", c.ledsTest},
		"capture check":        {"", "SIP and RTP seen on each SPAN port over 10 s", c.captureCheck},
		"keys status":          {"", "the keys in use", c.keysStatus},
		"keys export-recovery": {"PATH", "write the passphrase-protected recovery copy of the key (a USB stick)", c.keysExport},
		"update status":        {"", "the firmware slots", c.updateStatus},
		"update apply":         {"PATH", "install a signed firmware bundle and reboot into it", c.updateApply},
		"update rollback":      {"", "go back to the previous firmware", c.updateRollback},
		"reboot":               {"", "stop cleanly and restart", c.power("reboot")},
		"shutdown":             {"", "stop cleanly and power off", c.power("shutdown")},
		"reset-admin":          {"", "a new one-time password for the first Head of IG", c.resetAdmin},
		"factory-reset":        {"", "destroy every recording (refused while any is held)", c.factoryReset},
		"exit":                 {"", "sign out", func(context.Context, *session, []string) error { return errExit }},
	}
}

func (c *Console) help(_ context.Context, s *session, _ []string) error {
	names := make([]string, 0, len(c.cmds))
	for n := range c.cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cmd := c.cmds[n]
		s.say("  %-34s %s", strings.TrimSpace(n+" "+cmd.args), cmd.help)
	}
	return nil
}

func (c *Console) status(_ context.Context, s *session, _ []string) error {
	if c.cfg.Status == nil {
		return errUnavailable
	}
	s.say("%s", strings.TrimRight(c.cfg.Status(), "\n"))
	return nil
}

func (c *Console) calls(_ context.Context, s *session, _ []string) error {
	if c.cfg.Live == nil {
		return errUnavailable
	}
	live := c.cfg.Live()
	if len(live) == 0 {
		s.say("No call in progress.")
		return nil
	}
	for _, l := range live {
		state := "recording"
		if l.OptedOut {
			state = "opted out"
		}
		s.say("%s  %s  %-8s %s -> %s  %s", l.ID, l.Start.Local().Format("15:04:05"), l.Direction,
			partyText(l.From.E164, l.From.Extension, l.From.Raw), partyText(l.To.E164, l.To.Extension, l.To.Raw), state)
	}
	return nil
}

var callIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func (c *Console) optout(_ context.Context, s *session, args []string) error {
	if c.cfg.OptOut == nil {
		return errUnavailable
	}
	if len(args) != 1 || !callIDPattern.MatchString(args[0]) {
		return errors.New("usage: optout CALL (its id, as `calls` lists it)")
	}
	res, err := c.cfg.OptOut(archive.Access{Who: s.who, Why: "asked on the serial console"}, "console", args[0])
	if err != nil {
		return err
	}
	s.say("Opted out: %d call(s); recording stopped in %v, audio destroyed in %v.", len(res.Calls), res.Stopped.Round(time.Microsecond), res.Done.Round(time.Millisecond))
	return nil
}

func (c *Console) showNetwork(_ context.Context, s *session, _ []string) error {
	if c.cfg.Network == nil {
		return errUnavailable
	}
	out, err := c.cfg.Network.Show()
	if err != nil {
		return err
	}
	s.say("%s", strings.TrimRight(out, "\n"))
	return nil
}

// parseNet reads `dhcp` or `static ADDR/PREFIX GW DNS`.
func parseNet(args []string) (hal.NetSettings, error) {
	usage := errors.New("usage: set network dhcp | set network static ADDR/PREFIX GATEWAY DNS")
	switch {
	case len(args) == 1 && args[0] == "dhcp":
		return hal.NetSettings{DHCP: true}, nil
	case len(args) == 4 && args[0] == "static":
		p, err := netip.ParsePrefix(args[1])
		if err != nil || p.Bits() < 8 || p.Addr() == p.Masked().Addr() {
			return hal.NetSettings{}, fmt.Errorf("%q is not a host address with its prefix, like 192.168.1.20/24", args[1])
		}
		gw, err := netip.ParseAddr(args[2])
		if err != nil || !p.Contains(gw) || gw == p.Addr() {
			return hal.NetSettings{}, fmt.Errorf("the gateway %q must be another address in %s", args[2], p.Masked())
		}
		if _, err := netip.ParseAddr(args[3]); err != nil {
			return hal.NetSettings{}, fmt.Errorf("the DNS server %q is not an address", args[3])
		}
		return hal.NetSettings{Address: p.String(), Gateway: gw.String(), DNS: args[3]}, nil
	}
	return hal.NetSettings{}, usage
}

// setNetwork applies new settings, then waits ConfirmWindow for
// `confirm`: anything else, or nothing (the technician lost the box over
// the network), puts the old settings back.
func (c *Console) setNetwork(ctx context.Context, s *session, args []string) error {
	if c.cfg.Network == nil {
		return errUnavailable
	}
	ns, err := parseNet(args)
	if err != nil {
		return err
	}
	revert, err := c.cfg.Network.Set(ns)
	if err != nil {
		return err
	}
	c.cfg.Audit(s.who, "network-set", strings.Join(args, " "), "on the serial console, pending confirmation")
	s.say("Applied. Type confirm within %v to keep it; otherwise the old settings come back.", c.cfg.ConfirmWindow)
	answer := make(chan string, 1)
	go func() {
		s.t.SetPrompt("confirm? ")
		line, _ := s.t.ReadLine()
		answer <- strings.TrimSpace(line)
	}()
	t := time.NewTimer(c.cfg.ConfirmWindow)
	defer t.Stop()
	select {
	case a := <-answer:
		s.t.SetPrompt(s.who + "@callrec> ")
		if a == "confirm" {
			c.cfg.Audit(s.who, "network-confirm", strings.Join(args, " "), "")
			s.say("Kept.")
			return nil
		}
		s.say("Not confirmed.")
	case <-t.C:
		s.say("\nNo confirmation in %v (press Enter to go on).", c.cfg.ConfirmWindow)
		// The reader goroutine still waits for a line: the next line
		// typed goes to it and is dropped, so the prompt is taken back
		// only when it comes.
		defer func() { <-answer; s.t.SetPrompt(s.who + "@callrec> ") }()
	case <-ctx.Done():
	}
	if err := revert(); err != nil {
		return fmt.Errorf("the old settings did not come back: %w", err)
	}
	c.cfg.Audit(s.who, "network-revert", strings.Join(args, " "), "not confirmed")
	s.say("Reverted to the old settings.")
	return nil
}

func (c *Console) showTime(_ context.Context, s *session, _ []string) error {
	s.say("time       %s", time.Now().Format("2006-01-02 15:04:05.000 MST"))
	if c.cfg.Clock == nil {
		s.say("sync       unknown on this board")
		return nil
	}
	synced, maxErr, err := c.cfg.Clock.Sync()
	switch {
	case err != nil:
		s.say("sync       unreadable: %v", err)
	case synced:
		s.say("sync       synchronised (NTP), maximum error %v", maxErr)
	default:
		s.say("sync       NOT synchronised: recordings' times may be wrong (check NTP and the network)")
	}
	return nil
}

var hostPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.:-]{0,252}[A-Za-z0-9])?$`)

func (c *Console) ping(ctx context.Context, s *session, args []string) error {
	if c.cfg.Ping == nil {
		return errUnavailable
	}
	if len(args) != 1 || !hostPattern.MatchString(args[0]) {
		return errors.New("usage: ping HOST (a name or an address)")
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return c.cfg.Ping(ctx, args[0], s.t)
}

func (c *Console) showLog(_ context.Context, s *session, args []string) error {
	if c.cfg.Log == nil {
		return errUnavailable
	}
	n := 20
	if len(args) == 1 {
		v, err := strconv.Atoi(args[0])
		if err != nil || v < 1 || v > 1000 {
			return errors.New("usage: show log [N], N from 1 to 1000")
		}
		n = v
	}
	for _, l := range c.cfg.Log(n) {
		s.say("%s", mask(l))
	}
	return nil
}

func (c *Console) showDisk(_ context.Context, s *session, _ []string) error {
	if c.cfg.Disk == nil {
		return errUnavailable
	}
	s.say("%s", strings.TrimRight(c.cfg.Disk(), "\n"))
	return nil
}

func (c *Console) showFaults(_ context.Context, s *session, _ []string) error {
	if c.cfg.Faults == nil {
		return errUnavailable
	}
	f := c.cfg.Faults()
	if len(f) == 0 {
		s.say("No fault.")
	}
	for _, x := range f {
		s.say("%s", x)
	}
	return nil
}

func (c *Console) ackFault(_ context.Context, s *session, _ []string) error {
	if c.cfg.AckFault == nil {
		return errUnavailable
	}
	if err := c.cfg.AckFault(s.who); err != nil {
		return err
	}
	s.say("Acknowledged.")
	return nil
}

func (c *Console) ledsTest(ctx context.Context, s *session, _ []string) error {
	if c.cfg.LEDTest == nil {
		return errUnavailable
	}
	s.say("Each LED lights in turn: status, rec, opt-out, fault (amber), fault (red).")
	if err := c.cfg.LEDTest(ctx); err != nil {
		return err
	}
	s.say("Done.")
	return nil
}

func (c *Console) captureCheck(ctx context.Context, s *session, _ []string) error {
	if c.cfg.Capture == nil {
		return errUnavailable
	}
	s.say("Watching the SPAN port(s) for %v…", c.cfg.CaptureWindow)
	ports, err := c.cfg.Capture(ctx, c.cfg.CaptureWindow)
	if err != nil {
		return err
	}
	for _, p := range ports {
		verdict := "OK: SIP and RTP seen"
		switch {
		case p.Packets == 0:
			verdict = "NOTHING seen: check the mirror port's cable and the switch's SPAN session"
		case p.SIP == 0 && p.RTP == 0:
			verdict = "packets, but no SIP or RTP: is the mirror taking the phone system's traffic?"
		case p.SIP == 0:
			verdict = "RTP but no SIP (no call set up in the window, or signalling on another port)"
		case p.RTP == 0:
			verdict = "SIP but no RTP (no call talking in the window, or media on another port)"
		}
		s.say("%-8s %8d packets  %7.1f/s  SIP %d  RTP %d  drops %d  %s", p.Port, p.Packets, float64(p.Packets)/p.Seconds, p.SIP, p.RTP, p.Drops, verdict)
	}
	return nil
}

func (c *Console) keysStatus(_ context.Context, s *session, _ []string) error {
	if c.cfg.Keys == nil {
		return errUnavailable
	}
	out, err := c.cfg.Keys.Status()
	if err != nil {
		return err
	}
	s.say("%s", strings.TrimRight(out, "\n"))
	return nil
}

func (c *Console) keysExport(_ context.Context, s *session, args []string) error {
	if c.cfg.Keys == nil {
		return errUnavailable
	}
	if len(args) != 1 || !strings.HasPrefix(args[0], "/") {
		return errors.New("usage: keys export-recovery PATH (absolute, on the USB stick: /media/usb/callrec-recovery.age)")
	}
	p1, err := s.t.ReadPassword("recovery passphrase: ")
	if err != nil {
		return err
	}
	if err := archive.CheckPassphrase(p1); err != nil {
		return err
	}
	p2, err := s.t.ReadPassword("the same again: ")
	if err != nil {
		return err
	}
	if p1 != p2 {
		return errors.New("the two passphrases differ; nothing was written")
	}
	if err := c.cfg.Keys.ExportRecovery(archive.Access{Who: s.who, Why: "recovery copy, from the serial console"}, p1, args[0]); err != nil {
		return err
	}
	s.say("Written to %s. Keep the stick and the passphrase apart, both locked away.", args[0])
	return nil
}

func (c *Console) updateStatus(_ context.Context, s *session, _ []string) error {
	if c.cfg.Update == nil {
		return errUnavailable
	}
	s.say("%s", strings.TrimRight(c.cfg.Update.Status(), "\n"))
	return nil
}

func (c *Console) updateApply(_ context.Context, s *session, args []string) error {
	if c.cfg.Update == nil {
		return errUnavailable
	}
	if len(args) != 1 || !strings.HasPrefix(args[0], "/") {
		return errors.New("usage: update apply PATH (absolute: /media/usb/callrec-1.4.0-arm64.zip)")
	}
	s.say("Checking and installing %s…", args[0])
	msg, err := c.cfg.Update.Apply(s.who, args[0])
	if err != nil {
		return err
	}
	s.say("%s", msg)
	if c.cfg.Power != nil {
		s.say("Rebooting into it for a trial boot.")
		return c.cfg.Power("reboot")
	}
	return nil
}

func (c *Console) updateRollback(_ context.Context, s *session, _ []string) error {
	if c.cfg.Update == nil {
		return errUnavailable
	}
	ok, err := s.ask("Go back to the previous firmware and reboot?")
	if err != nil || !ok {
		return err
	}
	if err := c.cfg.Update.Rollback(s.who); err != nil {
		return err
	}
	s.say("The previous firmware is next. Rebooting.")
	if c.cfg.Power != nil {
		return c.cfg.Power("reboot")
	}
	return nil
}

func (c *Console) power(action string) func(context.Context, *session, []string) error {
	return func(_ context.Context, s *session, _ []string) error {
		if c.cfg.Power == nil {
			return errUnavailable
		}
		ok, err := s.ask(fmt.Sprintf("%s the box? Recording stops until it is back.", strings.ToUpper(action[:1])+action[1:]))
		if err != nil || !ok {
			return err
		}
		c.cfg.Audit(s.who, action, "box", "from the serial console")
		s.say("Stopping cleanly, then %s.", action)
		return c.cfg.Power(action)
	}
}

// resetAdmin gives the first Head of IG (the earliest account of that
// role) a new one-time password: the way back in when the practice's only
// Head of IG is locked out. Console only.
func (c *Console) resetAdmin(_ context.Context, s *session, _ []string) error {
	us, err := c.cfg.Users.List()
	if err != nil {
		return err
	}
	first := -1
	for i, u := range us {
		if u.Role == "head_of_ig" && (first < 0 || u.Created.Before(us[first].Created)) {
			first = i
		}
	}
	if first < 0 {
		return errors.New("there is no Head of IG account (make one with `recorderd users add -role head_of_ig`)")
	}
	name := us[first].Name
	ok, err := s.ask(fmt.Sprintf("Give %s a new one-time password (their sessions end)?", name))
	if err != nil || !ok {
		return err
	}
	pw, err := c.cfg.Users.Reset(s.who, name)
	if err != nil {
		return err
	}
	s.say("One-time password for %s: %s", name, pw)
	s.say("Give it to them in person; they choose their own at the next sign-in.")
	return nil
}

// factoryReset asks twice: a typed yes, then the front panel's button
// within ButtonWindow, so that nobody does it from afar.
func (c *Console) factoryReset(ctx context.Context, s *session, _ []string) error {
	if c.cfg.FactoryReset == nil || c.cfg.Button == nil {
		return errUnavailable
	}
	ok, err := s.ask("Destroy EVERY recording on this box, for good?")
	if err != nil || !ok {
		s.say("Nothing was changed.")
		return err
	}
	s.say("Press the front panel's button within %v to confirm.", c.cfg.ButtonWindow)
	bctx, cancel := context.WithTimeout(ctx, c.cfg.ButtonWindow)
	defer cancel()
	if err := c.cfg.Button.Wait(bctx); err != nil {
		s.say("The button was not pressed: nothing was changed.")
		return nil
	}
	if err := c.cfg.FactoryReset(s.who); err != nil {
		return err
	}
	s.say("Every recording was destroyed. The box restarts as new.")
	if c.cfg.Power != nil {
		return c.cfg.Power("reboot")
	}
	return nil
}
