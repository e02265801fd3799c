package web

import (
	"encoding/base64"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"callrec/firmware/status"
)

// boxStatus is the status page's (and the API's) view of the box.
type boxStatus struct {
	status.Snapshot
	Fingerprint string `json:"certificate_sha256"`
	// DeviceKey is the box's public key (base64), which signs case
	// bundles: `recorderd bundle verify -pub` takes it.
	DeviceKey      string    `json:"device_public_key,omitempty"`
	RetentionYears float64   `json:"retention_years"`
	LastPurge      time.Time `json:"last_purge,omitzero"`
	PacketsPerSec  float64   `json:"packets_per_second"`
	// Over the last minute (or since the page's start, Span long):
	// nothing at all means the mirror port is silent.
	PacketsMinute uint64        `json:"packets_last_minute"`
	SIPMinute     uint64        `json:"sip_last_minute"`
	Span          time.Duration `json:"window_ns"`
	Silent        bool          `json:"mirror_silent"`
}

func (s *Server) statusNow() boxStatus {
	var b boxStatus
	if s.cfg.Status != nil {
		b.Snapshot = s.cfg.Status()
	}
	if s.cfg.Certs != nil {
		b.Fingerprint = s.cfg.Certs.Fingerprint()
	}
	if pub, err := s.cfg.Archive.DevicePublic(); err == nil {
		b.DeviceKey = base64.StdEncoding.EncodeToString(pub)
	}
	b.RetentionYears = s.cfg.Retention.Hours() / 24 / 365.25
	b.LastPurge = s.cfg.Archive.LastPurge()
	b.PacketsPerSec, b.PacketsMinute, b.SIPMinute, b.Span = s.rate.observe(b.Time, b.Metrics["packets"], b.Metrics["sip_messages"])
	b.Silent = b.Span >= 30*time.Second && b.PacketsMinute == 0
	return b
}

// window keeps the counters' recent samples, to turn them into rates:
// packets per second now, and packets and SIP messages over the last
// minute (none on a minute means the mirror port is silent).
type window struct {
	mu      sync.Mutex
	samples []sample
}

type sample struct {
	at            time.Time
	packets, sips uint64
}

// observe adds a sample and returns the rates it gives.
func (w *window) observe(at time.Time, packets, sips uint64) (perSec float64, packetsMin, sipsMin uint64, span time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.samples); n == 0 || at.Sub(w.samples[n-1].at) >= time.Second {
		w.samples = append(w.samples, sample{at, packets, sips})
	}
	for len(w.samples) > 1 && at.Sub(w.samples[1].at) >= time.Minute {
		w.samples = w.samples[1:]
	}
	old := w.samples[0]
	if packets < old.packets || sips < old.sips { // counters restarted
		w.samples = []sample{{at, packets, sips}}
		return 0, 0, 0, 0
	}
	if n := len(w.samples); n >= 2 {
		prev := w.samples[n-2]
		if d := w.samples[n-1].at.Sub(prev.at).Seconds(); d > 0 && w.samples[n-1].packets >= prev.packets {
			perSec = float64(w.samples[n-1].packets-prev.packets) / d
		}
	}
	return perSec, packets - old.packets, sips - old.sips, at.Sub(old.at)
}

func (s *Server) statusPage(w http.ResponseWriter, r *http.Request, u *who) error {
	st := s.statusNow()
	var keys []string
	for k := range st.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s.render(w, r, u, http.StatusOK, "status", map[string]any{"S": st, "MetricNames": keys})
	return nil
}

// statusEvents streams the status as Server-Sent Events, every 2 s, for
// as long as the session lasts. It does not count as activity: a page
// left open still times out.
func (s *Server) statusEvents(w http.ResponseWriter, r *http.Request, u *who) error {
	return s.stream(w, r, u, 2*time.Second, "status", func() any { return s.statusNow() })
}

// metrics serves the status counters in the Prometheus text format.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request, _ *who) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(statusCollector{s})
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}

type statusCollector struct{ s *Server }

var (
	descCalls     = prometheus.NewDesc("callrec_calls_in_progress", "Calls in progress.", nil, nil)
	descRecording = prometheus.NewDesc("callrec_recordings_in_progress", "Recordings being written.", nil, nil)
	descFree      = prometheus.NewDesc("callrec_disk_free_bytes", "Free space on the data disk.", nil, nil)
	descReserve   = prometheus.NewDesc("callrec_disk_reserve_bytes", "Free space kept: recording stops below it.", nil, nil)
	descDaysLeft  = prometheus.NewDesc("callrec_disk_days_left", "Days until the reserve at the recent rate (-1 unknown).", nil, nil)
	descFault     = prometheus.NewDesc("callrec_fault", "A fault the box reports (1 while present).", []string{"fault"}, nil)
	descAudit     = prometheus.NewDesc("callrec_audit_entries", "Entries in the audit log.", nil, nil)
)

func (c statusCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.statusNow()
	ch <- prometheus.MustNewConstMetric(descCalls, prometheus.GaugeValue, float64(st.Calls))
	ch <- prometheus.MustNewConstMetric(descRecording, prometheus.GaugeValue, float64(st.Recording))
	ch <- prometheus.MustNewConstMetric(descFree, prometheus.GaugeValue, float64(st.Disk.FreeMB<<20))
	ch <- prometheus.MustNewConstMetric(descReserve, prometheus.GaugeValue, float64(st.Disk.ReserveMB<<20))
	ch <- prometheus.MustNewConstMetric(descDaysLeft, prometheus.GaugeValue, st.Disk.DaysLeft)
	for _, f := range st.Faults {
		ch <- prometheus.MustNewConstMetric(descFault, prometheus.GaugeValue, 1, f)
	}
	if st.Audit != nil {
		ch <- prometheus.MustNewConstMetric(descAudit, prometheus.CounterValue, float64(st.Audit.Seq))
	}
	for name, v := range st.Metrics {
		kind, suffix := prometheus.CounterValue, "_total"
		if name == "disk_full" {
			kind, suffix = prometheus.GaugeValue, ""
		}
		d := prometheus.NewDesc("callrec_"+strings.ReplaceAll(name, "-", "_")+suffix, "The status counter "+name+".", nil, nil)
		ch <- prometheus.MustNewConstMetric(d, kind, float64(v))
	}
}

// ackFault acknowledges the warning of a reboot by the watchdog.
func (s *Server) ackFault(w http.ResponseWriter, r *http.Request, u *who) error {
	if s.cfg.AckFault == nil {
		return errNotRunning
	}
	if err := s.cfg.AckFault(u.name); err != nil {
		return errorf(http.StatusConflict, "Nothing to acknowledge: %v.", err)
	}
	http.Redirect(w, r, "/status", http.StatusSeeOther)
	return nil
}
