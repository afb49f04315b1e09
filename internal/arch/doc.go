// Package arch holds no code: its test enforces the import rules of DESIGN §3 and STYLE.md, so
// that the boundaries stay true as the code grows.
package arch
