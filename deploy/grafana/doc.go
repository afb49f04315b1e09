// Package grafana holds the operators' dashboard; its test checks the queries against the code.
package grafana
