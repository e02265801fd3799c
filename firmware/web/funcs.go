package web

import (
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"
	"unicode"

	"callrec/firmware/cases"
	"callrec/firmware/recording"
	"callrec/firmware/users"
	"callrec/storage/index"
)

var roleNames = map[string]string{
	users.HeadOfIG:   "Head of Information Governance",
	users.Supervisor: "supervisor",
	users.Auditor:    "auditor",
	users.Technician: "technician",
}

var funcs = template.FuncMap{
	"roleName": func(r string) string {
		if n, ok := roleNames[r]; ok {
			return n
		}
		return r
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format("Mon 2 Jan 2006 15:04:05")
	},
	"dur": func(ms int64) string {
		s := (ms + 500) / 1000
		if s >= 3600 {
			return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
		}
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	},
	"party": func(p index.Party) string {
		if !strings.ContainsFunc(p.Name, unicode.IsLetter) {
			p.Name = "" // a display name that is only the number again
		}
		switch {
		case p.E164 != "" && p.Name != "":
			return p.Name + " " + p.E164
		case p.E164 != "":
			return p.E164
		case p.Extension != "" && p.Name != "":
			return p.Name + " (ext. " + p.Extension + ")"
		case p.Extension != "":
			return "ext. " + p.Extension
		case p.Raw != "":
			return p.Raw
		}
		return "unknown"
	},
	"join":      strings.Join,
	"userState": users.State,
	"has":       func(list []string, v string) bool { return slices.Contains(list, v) },
	"secs": func(s int64) string {
		if s < 0 {
			s = 0
		}
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	},
	"flagMeaning": recording.FlagMeaning,
	"day": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(time.Local).Format("Mon 2 Jan 2006")
	},
	"dueOf": dueOf,
	"list":  func(s ...string) []string { return s },
	"short": func(s string) string {
		if len(s) > 24 {
			return s[:24] + "…"
		}
		return s
	},
	"daysLeft": func(d float64) string {
		switch {
		case d < 0:
			return "unknown"
		case d > 3650:
			return "more than 10 years"
		}
		return fmt.Sprintf("%.0f", d)
	},
}

// due is a case's due date as the case list shows it: coloured as it
// approaches (a week, then past).
type due struct {
	Has          bool
	Due          time.Time
	Class, Words string
}

func dueOf(c cases.Case, now time.Time) due {
	d, ok := c.DueIn(now)
	if !ok {
		return due{}
	}
	out := due{Has: true, Due: c.Due}
	switch {
	case d < 0:
		out.Class, out.Words = "overdue", fmt.Sprintf("overdue by %d days", -d)
	case d == 0:
		out.Class, out.Words = "soon", "due today"
	case d <= 7:
		out.Class, out.Words = "soon", fmt.Sprintf("%d days left", d)
	default:
		out.Class, out.Words = "fine", fmt.Sprintf("%d days left", d)
	}
	return out
}
