package hyperliquid

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

const venueName = events.VenueHyperliquid

// post is rawPost counted in rebal_venue_requests_total and, when it fails, in
// rebal_venue_errors_total under its path (/info, /exchange) and class. An {"status":"err"}
// answer from /exchange is counted where it is read (send), as rejected.
func (c *Client) post(ctx context.Context, path string, weight int, body []byte, out any) error {
	err := c.rawPost(ctx, path, weight, body, out)
	if err != nil && !errors.Is(err, ErrUnavailable) && ctx.Err() != nil {
		return err // the limiter's wait ended with ctx: nothing was sent
	}
	c.m.Request(venueName, path)
	if err != nil && !errors.Is(err, context.Canceled) { // a caller that gave up is no venue error
		c.m.Error(venueName, path, errorClass(err))
	}
	return err
}

func errorClass(err error) string {
	var ue *url.Error
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, ErrRateLimited):
		return venue.ClassRateLimited
	case errors.As(err, &ue):
		return venue.TransportClass(err)
	case errors.Is(err, context.DeadlineExceeded):
		return venue.ClassTimeout
	case errors.Is(err, ErrUnavailable):
		return venue.ClassServer
	case errors.As(err, &se) || errors.As(err, &te):
		return venue.ClassDecode
	}
	return venue.ClassRejected
}
