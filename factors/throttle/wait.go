package throttle

import (
	"fmt"
	"time"
)

// FormatWait says a wait in words for the person at the keyboard, rounded
// up so that trying again when told never comes too early: "45 seconds",
// "4 minutes", "2 hours".
func FormatWait(d time.Duration) string {
	unit := func(n int64, word string) string {
		if n == 1 {
			return "1 " + word
		}
		return fmt.Sprintf("%d %ss", n, word)
	}
	switch {
	case d <= time.Second:
		return "1 second"
	case d < time.Minute:
		return unit(int64((d+time.Second-1)/time.Second), "second")
	case d < time.Hour:
		return unit(int64((d+time.Minute-1)/time.Minute), "minute")
	default:
		return unit(int64((d+time.Hour-1)/time.Hour), "hour")
	}
}
