//go:build callrec_failhealth

package appliance

import "errors"

// A test build that fails its trial boot's health check, so that the
// update tests see a real rollback. Never in a release.
func init() { healthFault = errors.New("this build fails its health check (a test build)") }
