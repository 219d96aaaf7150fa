package google

import (
	"errors"
	"net/http"
	"net/url"
)

// RateLimited reports whether err is Google saying "too many requests" (429,
// or 403 with rateLimitExceeded / userRateLimitExceeded) that was left after
// the retry transport gave up.
func RateLimited(err error) bool {
	ge := apiError(err)
	if ge == nil {
		return false
	}
	return ge.Code == http.StatusTooManyRequests ||
		ge.Code == http.StatusForbidden && (hasReason(ge, "rateLimitExceeded") || hasReason(ge, "userRateLimitExceeded") ||
			hasReason(ge, "RATE_LIMIT_EXCEEDED"))
}

// RemoteError reports whether err is an answer from Google's API or a
// failure to reach it.
func RemoteError(err error) bool {
	var ue *url.Error
	return apiError(err) != nil || errors.As(err, &ue)
}
