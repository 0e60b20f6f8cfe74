package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Hours is a daily calling window in the lead's local time.
type Hours struct {
	Start, End time.Duration // time of day, Start < End ≤ 24h
	Days       []time.Weekday
}

var dayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// ParseCallingHours reads "HH:MM-HH:MM[,day-day|day...]" such as
// "08:00-20:00,mon-fri" or "09:00-17:00,mon,wed,fri"; "" means any hour (nil).
func ParseCallingHours(s string) (*Hours, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	from, to, ok := strings.Cut(parts[0], "-")
	if !ok {
		return nil, errors.New("want HH:MM-HH:MM[,mon-fri]")
	}
	var h Hours
	var err error
	if h.Start, err = clock(from); err != nil {
		return nil, err
	}
	if h.End, err = clock(to); err != nil {
		return nil, err
	}
	if h.Start >= h.End {
		return nil, errors.New("the window must end after it starts (no overnight windows)")
	}
	for _, d := range parts[1:] {
		a, b, rng := strings.Cut(strings.TrimSpace(d), "-")
		da, ok1 := dayNames[a]
		db, ok2 := dayNames[b]
		if !ok1 || (rng && !ok2) {
			return nil, fmt.Errorf("day %q: want mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri", d)
		}
		if !rng {
			db = da
		}
		for x := da; ; x = (x + 1) % 7 {
			h.Days = append(h.Days, x)
			if x == db {
				break
			}
		}
	}
	return &h, nil
}

func clock(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	t, err := time.Parse("15:04", s)
	if s == "24:00" {
		return 24 * time.Hour, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day such as 08:30", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}
