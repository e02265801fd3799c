// Package status is the box's health snapshot: version, capture, calls,
// recordings, disk and faults. The daemon writes it to DATA/status.json
// every few seconds; `recorderd status`, the web page and the console all
// read the same snapshot.
package status
