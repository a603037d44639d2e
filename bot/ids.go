package bot

import "time"

// TenantID names a municipality, e.g. "demo". It is used as the Redis Cluster hash tag.
type TenantID string

// PersonID names a member of a tenant; it is unique within its tenant.
type PersonID string

// Platform names a chat channel.
type Platform string

// The channels Kakehashi speaks on.
const (
	PlatformWeb       Platform = "web"
	PlatformSlack     Platform = "slack"
	PlatformLineWorks Platform = "lineworks"
	PlatformLINE      Platform = "line"
)

// Lang is a person's language; Japanese is the default.
type Lang string

// Supported languages.
const (
	LangJA Lang = "ja"
	LangEN Lang = "en"
)

// Clock tells the time; tests inject a fixed or steppable clock.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now returns f().
func (f ClockFunc) Now() time.Time { return f() }

// SystemClock is the wall clock.
var SystemClock Clock = ClockFunc(time.Now)

// Tokyo is Asia/Tokyo, the zone every municipal date is shown and parsed in.
var Tokyo = mustZone("Asia/Tokyo")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		// Asia/Tokyo has no daylight saving time; a fixed zone is exact.
		return time.FixedZone("JST", 9*3600)
	}
	return loc
}
