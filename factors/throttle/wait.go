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
	secs := int64((d + time.Second - 1) / time.Second)
	switch {
	case secs <= 1:
		return "1 second"
	case secs < 60:
		return unit(secs, "second")
	case secs < 3600:
		return unit((secs+59)/60, "minute")
	default:
		return unit((secs+3599)/3600, "hour")
	}
}
