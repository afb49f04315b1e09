package binance

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
)

// RoundTrip sends the request through the rate-limit logic (roundTrip) and counts it in
// rebal_venue_requests_total and, when it failed, rebal_venue_errors_total by class. The endpoint
// label is the path: Binance carries ids in the query, never in the path.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.roundTrip(req)
	endpoint := req.URL.Path
	t.m.Request(Name, endpoint)
	var rl *RateLimitError
	var se *StatusError
	switch {
	case errors.As(err, &rl):
		t.m.Error(Name, endpoint, venue.ClassRateLimited)
	case errors.As(err, &se):
		t.m.Error(Name, endpoint, venue.ClassServer)
	case err != nil:
		t.m.Error(Name, endpoint, venue.TransportClass(err))
	case res.StatusCode >= 400:
		t.m.Error(Name, endpoint, errorClass(res))
	}
	return res, err
}

// errorClass reads a 4xx answer's Binance code (and puts the body back for go-binance).
func errorClass(res *http.Response) string {
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	_ = res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return venue.ClassRejected
	}
	var ans struct {
		Code int64 `json:"code"`
	}
	_ = json.Unmarshal(b, &ans)
	switch ans.Code {
	case -1021:
		return venue.ClassClockSkew
	case -1002, -1022, -2014, -2015:
		return venue.ClassAuth
	}
	return venue.ClassRejected
}
