// Package tests holds end-to-end tests that run the built recorderd binary
// and check the rules that span the tree, such as which layer may import
// which (../shared/STYLE.md §1).
package tests
