package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

type row struct {
	name    string
	metrics map[string]string
}

func main() {
	if err := table(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func table(r io.Reader, w io.Writer) error {
	var (
		pkg   string
		rows  []row
		units []string
		fail  bool
	)
	flush := func() {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s\n", pkg)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "benchmark\t")
		for _, u := range units {
			fmt.Fprintf(tw, "%s\t", u)
		}
		fmt.Fprintln(tw)
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t", r.name)
			for _, u := range units {
				v := r.metrics[u]
				if v == "" {
					v = "-"
				}
				fmt.Fprintf(tw, "%s\t", v)
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		rows, units = nil, nil
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "pkg: "):
			flush()
			pkg = strings.TrimPrefix(line, "pkg: ")
		case strings.HasPrefix(line, "Benchmark") && len(f) >= 4 && len(f)%2 == 0:
			rw := row{name: strings.TrimPrefix(f[0], "Benchmark"), metrics: map[string]string{}}
			for i := 2; i+1 < len(f); i += 2 {
				unit := f[i+1]
				if _, seen := rw.metrics[unit]; !seen && !contains(units, unit) {
					units = append(units, unit)
				}
				rw.metrics[unit] = f[i]
			}
			rows = append(rows, rw)
		case strings.HasPrefix(line, "goos:"), strings.HasPrefix(line, "goarch:"),
			strings.HasPrefix(line, "cpu:"), line == "PASS", strings.HasPrefix(line, "ok "),
			strings.HasPrefix(line, "?"):
		default:
			if strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "--- FAIL") {
				fail = true
			}
			fmt.Fprintln(w, line)
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return err
	}
	if fail {
		return fmt.Errorf("a benchmark failed")
	}
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
