// Package appliance runs the box: capture on the SPAN interfaces into the
// recording pipeline and the archive, with the disk worker, the front
// panel and the watchdog, the status snapshot, the disk watch, the daily
// retention purge and the audit head's daily log line. `recorderd run`
// hands it the board's parts and the configuration; the web page and the
// console will run beside these parts.
package appliance
