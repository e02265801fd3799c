package cases

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"slices"
	"time"

	"callrec/firmware/bundle"
	"callrec/firmware/recording"
)

//go:embed templates/cover.html
var coverText string

var coverTemplate = template.Must(template.New("cover").Funcs(template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(time.Local).Format("2 January 2006")
	},
	"when": func(t time.Time) string { return t.In(time.Local).Format("2 January 2006 15:04 MST") },
	"dur": func(ms int64) string {
		d := time.Duration(ms) * time.Millisecond
		return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
	},
	"file": bundle.FileName,
}).Parse(coverText))

// cover is the printable cover letter of a bundle.
func (s *Service) cover(c *Case, b *Bundle, m bundle.Manifest) ([]byte, error) {
	var excluded []Call
	for _, k := range c.Calls {
		if k.Excluded {
			excluded = append(excluded, k)
		}
	}
	type meaning struct{ Flag, Meaning string }
	var flags []meaning
	for _, k := range c.Included() {
		for _, f := range k.Flags {
			if !slices.ContainsFunc(flags, func(m meaning) bool { return m.Flag == f }) {
				flags = append(flags, meaning{f, recording.FlagMeaning(f)})
			}
		}
	}
	years := s.cfg.Retention.Hours() / 24 / 365.25
	data := map[string]any{
		"Case": c, "Bundle": b, "Manifest": m, "Included": c.Included(), "Excluded": excluded,
		"Practice": s.cfg.Practice, "RetentionYears": fmt.Sprintf("%.0f", years), "Flags": flags,
		"Police": c.Kind == Police,
	}
	var out bytes.Buffer
	if err := coverTemplate.Execute(&out, data); err != nil {
		return nil, fmt.Errorf("cases: cover letter: %w", err)
	}
	return out.Bytes(), nil
}
