package lineworks

import (
	"errors"
	"net/url"
	"strings"
)

// PostbackMax is the documented limit of a postback action's data (300 characters);
// message actions allow more, but one limit for both keeps every button encodable the same way.
const PostbackMax = 300

// Errors of EncodePostback; Render falls back to a plain message button for them.
var (
	ErrPostbackTooLong = errors.New("lineworks: postback data longer than 300 characters")
	ErrNoAction        = errors.New("lineworks: postback needs an action")
)

// EncodePostback packs a choice into the data of a postback action (or the postback
// of a message action): "action=<action>&value=<value>", both query-escaped, the
// value part left out when empty. The query form is the one the LINE WORKS docs use
// ("action=buy"), so postbacks configured by hand in a rich menu decode the same way.
func EncodePostback(action, value string) (string, error) {
	if action == "" {
		return "", ErrNoAction
	}
	s := "action=" + url.QueryEscape(action)
	if value != "" {
		s += "&value=" + url.QueryEscape(value)
	}
	if len(s) > PostbackMax { // escaped text is ASCII: bytes are characters.
		return "", ErrPostbackTooLong
	}
	return s, nil
}

// DecodePostback reverses EncodePostback. ok is false for data that is not in that
// form (no "action" key, bad escapes); callers then treat the data as plain text.
// Other keys are ignored so that later versions can add fields.
func DecodePostback(data string) (action, value string, ok bool) {
	if !strings.Contains(data, "action=") {
		return "", "", false
	}
	q, err := url.ParseQuery(data)
	if err != nil {
		return "", "", false
	}
	as, has := q["action"]
	if !has || len(as) != 1 || as[0] == "" {
		return "", "", false
	}
	vs := q["value"]
	if len(vs) > 1 {
		return "", "", false
	}
	if len(vs) == 1 {
		value = vs[0]
	}
	return as[0], value, true
}
