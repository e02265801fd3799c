// Package firmware is the appliance around the recorder and storage: the
// supervisors' web page, the technicians' serial console, the front-panel
// logic, updates and configuration. It uses recorder and storage through
// their public APIs and never imports board: hardware arrives as hal parts.
package firmware
