// Package config reads the appliance's configuration file (TOML), checks
// it, and fills in the defaults, so that a box works with almost nothing
// set. Every setting is documented in docs/configuration.md.
package config
