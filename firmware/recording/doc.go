// Package recording joins the recorder to the archive: it is the
// recorder's Sink, turns each tracked call into its index record, keeps
// the index in step with the tracker's events, and tells the archive the
// MP3 framing it needs for exports and recovery.
package recording
