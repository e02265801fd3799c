//go:build callrec_testkeys

package update

import "embed"

// A test build trusts the test root key, whose private half is in
// tests/testdata/update: never a production build.
//
//go:embed testkeys
var testKeys embed.FS

func init() { extraKeys = testKeys }
